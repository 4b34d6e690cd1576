"""The real daemons a lab runs: coturn (STUN server on a public host) and
miniupnpd (UPnP IGD + NAT-PMP in a router). Use them through Lab.coturn()
and Lab.miniupnpd(); both are stopped at lab teardown at the latest.
"""

import os
import re
import uuid

import netlab_nodes

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "miniupnpd.conf.in")


class Coturn:
    """turnserver in STUN-only mode on every IP of a public host. With two
    IPs it supports RFC 5780 (OTHER-ADDRESS, CHANGE-REQUEST), which
    miniupnpd's STUN check needs: with one IP it answers 420."""

    def __init__(self, lab, host, port=3478):
        self.lab, self.host, self.port = lab, host, port
        self.address = (host.ip, port)
        self.proc = None

    def start(self, timeout=15.0):
        tag = "%s-%d" % (self.host.role, self.port)
        argv = (["turnserver", "-n"]
                + ["--listening-ip=%s" % ip for ip in self.host.ips]
                + ["--listening-port=%d" % self.port, "--stun-only", "--no-cli",
                   "--no-tls", "--no-dtls", "--no-tcp-relay", "--log-file=stdout",
                   "--simple-log",
                   # Kept inside the lab's work dir so that concurrent labs
                   # never share a pid file or database.
                   "--pidfile=%s/turn-%s.pid" % (self.lab.work, tag),
                   "--userdb=%s/turndb-%s" % (self.lab.work, tag)])
        self.proc = self.host.start(argv, name="turnserver")
        # Readiness is an answered Binding request, not a log line: that is
        # what every user of the server needs.
        for ip in self.host.ips:
            out = self.host.agent("stun", "%s:%d" % (ip, self.port), "--timeout", timeout,
                                  "--interval", 0.1, timeout=timeout + 10)
            if not out["mapped"]:
                self.proc.stop()
                raise netlab_nodes.LabError("coturn on %s:%d did not answer STUN within %.0fs:\n%s"
                                      % (ip, self.port, timeout, self.proc.text()[-2000:]))
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()


_RULE = re.compile(r"th dport (\d+) dnat ip to ([\d.]+):(\d+)")
_PROTO = {"0x6": "TCP", "0x11": "UDP", "tcp": "TCP", "udp": "UDP"}


class Miniupnpd:
    """miniupnpd in a router, configured from miniupnpd.conf.in. It learns
    its public address by STUN against the lab's coturn (see the template);
    ready means the log says port forwarding is enabled and, with UPnP on,
    its HTTP port accepts connections."""

    def __init__(self, lab, router, stun, upnp=True, natpmp=True):
        self.lab, self.router = lab, router
        self.stun = netlab_nodes.address_of(stun)
        self.upnp, self.natpmp = upnp, natpmp
        self.dir = os.path.join(lab.work, "miniupnpd-%s" % router.role)
        self.url = "http://%s:5000/rootDesc.xml" % router.lan_ip
        self.proc = None

    def start(self, timeout=30.0):
        os.makedirs(self.dir, exist_ok=True)
        with open(TEMPLATE) as f:
            conf = f.read()
        for key, value in (("@WORK@", self.dir), ("@STUN@", self.stun[0]),
                           ("@STUN_PORT@", str(self.stun[1])),
                           ("@LAN_NET@", self.router.lan_net),
                           ("@UUID@", str(uuid.uuid4())),
                           ("@UPNP@", "yes" if self.upnp else "no"),
                           ("@NATPMP@", "yes" if self.natpmp else "no")):
            conf = conf.replace(key, value)
        path = os.path.join(self.dir, "miniupnpd.conf")
        with open(path, "w") as f:
            f.write(conf)
        argv = ["miniupnpd", "-d", "-f", path, "-P", os.path.join(self.dir, "miniupnpd.pid")]
        self.router.stun_check_open = True
        self.router.apply()
        try:
            self.proc = self.router.start(
                argv, name="miniupnpd", ready=r"Port forwarding is now enabled",
                timeout=timeout,
                fail=r"Port forwarding is now disabled|Port forwarding is impossible")
        finally:
            self.router.stun_check_open = False
            self.router.apply()
        if self.upnp:
            out = self.router.agent("tcp-connect", "%s:5000" % self.router.lan_ip, "--retry",
                                    "--timeout", 10, timeout=20)
            if not out["ok"]:
                self.proc.stop()
                raise netlab_nodes.LabError("miniupnpd HTTP port 5000 not accepting: %s\n%s"
                                      % (out["error"], self.proc.text()[-2000:]))
        return self

    def mappings(self):
        """[(proto, ext_port, int_ip, int_port)] as installed in nftables,
        i.e. what actually forwards, sorted."""
        out = self.router.run(["nft", "list", "chain", "inet", "filter",
                               "prerouting_miniupnpd"]).stdout
        found = []
        for line in out.splitlines():
            m = _RULE.search(line)
            if not m:
                continue
            proto = next((p for token, p in _PROTO.items()
                          if re.search(r"(^|\s)%s(\s|$)" % token, line)), "?")
            found.append((proto, int(m.group(1)), m.group(2), int(m.group(3))))
        return sorted(found)

    def stop(self):
        if self.proc:
            self.proc.stop(5.0)


class ImpairmentRelay:
    """Delay, jitter (hence reordering) and loss for UDP, which the lab's
    routers cannot add (no tc/netem): a relay on a lab host forwards
    datagrams from .address to target and the answers back. The target sees
    the relay's address as its peer, one distinct port per client."""

    def __init__(self, lab, host, target, port, delay_ms=0, jitter_ms=0, loss=0, seed=None):
        self.host, self.target = host, netlab_nodes.address_of(target)
        self.address = (host.ip, port)
        self.args = ["relay", port, "%s:%d" % self.target, "--bind", host.ip,
                     "--delay-ms", delay_ms, "--jitter-ms", jitter_ms, "--loss", loss]
        if seed is not None:
            self.args += ["--seed", seed]
        self.proc = None

    name = "relay"

    def start(self):
        self.proc = self.host.agent_start(*self.args, name=self.name)
        return self

    def stop(self):
        """{"forwarded": n, "dropped": n, "clients": n}"""
        self.proc.popen.terminate()
        try:
            return self.proc.result(5)
        finally:
            self.proc.stop()


class TcpDelayRelay(ImpairmentRelay):
    """Delay for TCP on the public segment (no tc/netem here): a relay on a
    lab host at .address forwards each client's stream to target and back,
    every chunk held delay_ms each way. stop() returns its counts."""

    def __init__(self, lab, host, target, port, delay_ms):
        self.host, self.target = host, netlab_nodes.address_of(target)
        self.address = (host.ip, port)
        self.args = ["tcp-relay", port, "%s:%d" % self.target, "--bind", host.ip,
                     "--delay-ms", delay_ms]
        self.proc = None
        self.name = "tcp-relay"

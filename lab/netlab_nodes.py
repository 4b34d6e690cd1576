"""Lab nodes: Host and Router, each a network namespace, and Proc, a
process started in one. Lab (netlab.py) creates them; see its docstring.
"""

import ipaddress
import json
import os
import re
import subprocess
import sys
import time

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netlab_agent.py")
PUBLIC_NET = ipaddress.ip_network("198.18.0.0/24")
KINDS = ("port-restricted", "full-cone", "symmetric", "udp-blocked")


class LabError(RuntimeError):
    pass


class CommandError(subprocess.CalledProcessError):
    def __str__(self):
        tail = (self.stderr or self.stdout or "").strip()[-800:]
        return "%s\n%s" % (super().__str__(), tail)


def run_command(argv, timeout=30, check=True, input=None):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise CommandError(p.returncode, argv, p.stdout, p.stderr)
    return p


def address_of(server):
    """(ip, port) from a tuple, "ip:port" or anything with .address."""
    if hasattr(server, "address"):
        server = server.address
    if isinstance(server, str):
        host, _, port = server.rpartition(":")
        return host, int(port)
    return server[0], int(server[1])


class Proc:
    """A process in a namespace whose output goes to a log file in lab.work
    (a pipe nobody reads would fill up and stall a chatty daemon)."""

    def __init__(self, popen, log):
        self.popen, self.log = popen, log

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout=10.0, fail=None):
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            found = re.search(pattern, text, re.M)
            if found:
                return found
            if fail and re.search(fail, text, re.M):
                raise LabError("%s: %r in log:\n%s" % (self.log, fail, text[-2000:]))
            if self.popen.poll() is not None:
                raise LabError("%s exited (%s) before %r:\n%s"
                               % (self.log, self.popen.returncode, pattern, text[-2000:]))
            if time.monotonic() > deadline:
                raise LabError("%s: no %r within %.0fs:\n%s"
                               % (self.log, pattern, timeout, text[-2000:]))
            time.sleep(0.02)

    def result(self, timeout=30.0):
        """The JSON line an agent tool prints when it finishes."""
        self.popen.wait(timeout)
        for line in reversed(self.text().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise LabError("%s: no result:\n%s" % (self.log, self.text()[-2000:]))

    def stop(self, timeout=3.0):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)


class Node:
    def __init__(self, lab, role, ns):
        self.lab, self.role, self.ns = lab, role, ns

    @property
    def exec_prefix(self):
        return ["ip", "netns", "exec", self.ns]

    def run(self, argv, timeout=30, check=True, input=None):
        return run_command(self.exec_prefix + list(argv), timeout, check, input)

    def popen(self, argv, **kw):
        p = subprocess.Popen(self.exec_prefix + list(argv), **kw)
        self.lab._procs.append(p)
        return p

    def start(self, argv, name=None, ready=None, timeout=10.0, fail=None):
        log = self.lab._log_path(self.role, name or os.path.basename(argv[0]))
        with open(log, "w") as f:
            p = self.popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                           stderr=subprocess.STDOUT, cwd=self.lab.work)
        proc = Proc(p, log)
        if ready:
            proc.wait_for(ready, timeout, fail)
        return proc

    def agent(self, *args, timeout=20):
        out = self.run([sys.executable, AGENT] + [str(a) for a in args], timeout=timeout)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def agent_start(self, *args, name=None, timeout=10.0):
        return self.start([sys.executable, AGENT] + [str(a) for a in args],
                          name=name or "agent-%s" % args[0], ready=r"^READY$", timeout=timeout)


class Host(Node):
    def __init__(self, lab, role, ns, ips, router=None):
        super().__init__(lab, role, ns)
        self.ips, self.ip, self.router = list(ips), ips[0], router

    def __repr__(self):
        return "Host(%s %s)" % (self.role, ", ".join(self.ips))


class Router(Node):
    def __init__(self, lab, role, ns, index, wan_ip, kind, loss, hairpin):
        super().__init__(lab, role, ns)
        self.index, self.wan_ip = index, wan_ip
        self.lan_ip = "10.%d.0.1" % index
        self.lan_net = "10.%d.0.0/24" % index
        self.kind, self.loss, self.hairpin = kind, loss, hairpin
        self.hosts = []
        self.stun_check_open = False  # see ruleset()
        self.rst = False  # see set_rst()
        check_kind(kind, loss)

    def __repr__(self):
        return "Router(%s %s wan %s lan %s)" % (self.role, self.kind, self.wan_ip, self.lan_net)

    def set_kind(self, kind):
        check_kind(kind, self.loss)
        self.kind = kind
        self.apply()

    def forget_flows_to(self, ip):
        """Forgets the flows (conntrack entries) toward `ip`, keeping the
        rest: after set_kind, flows made under the old kind would otherwise
        keep its mappings for minutes, while flows that must live (a
        node's connection to its relay) keep theirs."""
        self.run(["conntrack", "-D", "-d", ip], check=False)

    def set_rst(self, on=True):
        """A router that answers unsolicited TCP on wan with a RST instead
        of silence (many home routers, and libp2p's test routers, do): a
        punch's early SYN is refused and must be retried."""
        self.rst = bool(on)
        self.apply()

    def set_loss(self, percent):
        check_kind(self.kind, percent)
        self.loss = int(percent)
        self.apply()

    def set_hairpin(self, on):
        self.hairpin = bool(on)
        self.apply()

    def apply(self, initial=False):
        self.run(["nft", "-f", "-"], input=self.ruleset(initial))

    def ruleset(self, initial=False):
        """One `table inet filter`, holding miniupnpd's own chains too (its
        2.3.1 defaults) so miniupnpd can run in any router. Re-applying only
        flushes the lab's chains: miniupnpd's rules and the learned mappings
        survive set_kind/set_loss/set_hairpin. Router-originated traffic
        (miniupnpd's STUN probes) is never NATed, whatever the kind.

        Every kind masquerades the LAN; plain masquerade keeps the LAN source
        port when it can, so mapping is endpoint-independent. Each outgoing
        TCP/UDP flow also records external port -> (LAN ip, LAN port) in the
        maps mapped_udp/mapped_tcp (entries live 180 s past the last packet).
        full-cone: anything arriving on wan for a recorded port is DNATed to
        that LAN socket (endpoint-independent filtering, for every LAN host).
        hairpin: a LAN packet to the WAN address on a recorded port is DNATed
        the same way and SNATed to the WAN address, so the receiver sees the
        sender's public endpoint (RFC 4787 hairpinning); it is not filtered.
        miniupnpd's forwards match `iif "wan"`, so they are never hairpinned.
        """
        net, wan = self.lan_net, self.wan_ip
        rand = " fully-random" if self.kind == "symmetric" else ""
        forward = []
        if self.loss:
            forward.append("meta l4proto udp numgen random mod 100 < %d counter drop" % self.loss)
        if self.kind == "udp-blocked":
            forward.append('iifname "lan" meta l4proto udp drop')
        forward += ["ct state established,related accept", "jump miniupnpd"]
        if self.kind == "full-cone":
            forward.append('iifname "wan" oifname "lan" ct status dnat accept')
        if self.hairpin:
            forward.append('iifname "lan" oifname "lan" ct status dnat accept')
        forward.append('iifname "lan" oifname "wan" accept')
        pre, learn = ["jump prerouting_miniupnpd"], []
        for proto in ("udp", "tcp"):
            if self.kind == "full-cone":
                pre.append('iifname "wan" dnat ip to %s dport map @mapped_%s' % (proto, proto))
            if self.hairpin:
                pre.append('iifname "lan" ip daddr %s dnat ip to %s dport map @mapped_%s'
                           % (wan, proto, proto))
            # Runs after masquerade (priority 200 > 100): sport is the
            # external port, ct original holds the LAN socket.
            learn.append('oifname "wan" ct direction original ct status snat '
                         'meta l4proto %s update @mapped_%s { %s sport : '
                         'ct original ip saddr . ct original proto-src }' % (proto, proto, proto))
        post = ["jump postrouting_miniupnpd"]
        if self.hairpin:
            post.append('oifname "lan" ip saddr %s ct status dnat snat ip to %s%s'
                        % (net, wan, rand))
        post.append('oifname "wan" ip saddr %s masquerade%s' % (net, rand))
        inp = ['iifname "wan" ct state established,related accept']
        if self.stun_check_open:
            # miniupnpd's STUN check at start-up needs the answers from
            # coturn's other address/port. Only then: an accepted stray
            # answer meant for a LAN host (an RFC 5780 test) would become a
            # conntrack entry for the router itself and push that host's
            # next mapping to another port.
            inp.append('iifname "wan" ip saddr %s udp sport { 3478, 3479 } accept'
                       % PUBLIC_NET)
        if self.rst:
            inp.append('iifname "wan" meta l4proto tcp reject with tcp reset')
        # Anything else unsolicited on wan is dropped silently (no RST/ICMP,
        # no conntrack entry).
        inp.append('iifname "wan" drop')
        hooks = [("input", "filter hook input priority 0; policy accept", inp),
                 ("forward", "filter hook forward priority 0; policy drop", forward),
                 ("prerouting", "nat hook prerouting priority -100; policy accept", pre),
                 ("postrouting", "nat hook postrouting priority 100; policy accept", post),
                 ("learn", "filter hook postrouting priority 200; policy accept", learn)]
        maps = ["    map mapped_%s { type inet_service : ipv4_addr . inet_service; "
                "flags dynamic,timeout; timeout 180s; }" % p for p in ("udp", "tcp")]
        skeleton = (["table inet filter {"] + maps
                    + ["    chain %s { }" % c for c in
                       ("miniupnpd", "prerouting_miniupnpd", "postrouting_miniupnpd")]
                    + ["    chain %s { type %s; }" % (n, h) for n, h, _ in hooks] + ["}"])
        # nft 1.0.6 rejects `jump x }` on one line: one rule per line.
        rules = ["table inet filter {"]
        for name, _, body in hooks:
            rules += ["    chain %s {" % name] + ["        " + r for r in body] + ["    }"]
        rules.append("}")
        flush = ["flush chain inet filter %s" % n for n, _, _ in hooks]
        return "\n".join((["flush ruleset"] if initial else []) + skeleton + flush + rules) + "\n"


def check_kind(kind, loss):
    if kind not in KINDS:
        raise ValueError("kind %r: one of %s" % (kind, ", ".join(KINDS)))
    if not 0 <= int(loss) <= 100:
        raise ValueError("loss %r: a percentage" % loss)

#!/usr/bin/env python3
"""NAT test lab from Linux network namespaces (root only).

    lab = Lab()                                    # context manager
    pub = lab.public_host("p1", ips=["198.18.0.100", "198.18.0.101"])
    r1 = lab.router("r1", kind="port-restricted", loss=0, hairpin=False)
    h1 = lab.host("h1", behind=r1)
    turn = lab.coturn(pub); igd = lab.miniupnpd(r1, stun=turn)
    stun_mapped(h1, turn, 40000)                   # ("198.18.0.11", 40000)
    lab.impairment_relay(pub, ("198.18.0.12", 4000), 6200, delay_ms=40, jitter_ms=20)
    h1.agent("probe", ...), h1.agent_start("sink", ...)   # tools: netlab_agent.py

Namespaces are named cl<6 hex>-<role>, so concurrent labs never clash and a
crashed lab's leftovers are recognisable (`netlab.py cleanup`). The host
namespace never gets an interface and routers have no default route: lab
traffic cannot reach anything outside 198.18.0.0/24 and the 10.N.0.0/24 LANs.
Router kinds and their nftables rules: see Router.ruleset() in netlab_nodes.py.

CLI: netlab.py demo | cleanup
"""

import atexit
import ipaddress
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import netlab_daemons
from netlab_nodes import (KINDS, PUBLIC_NET, CommandError, Host, LabError,  # noqa: F401
                          Node, Proc, Router, run_command, address_of, check_kind)

NS_RE = re.compile(r"^cl([0-9a-f]{6})-[a-z0-9]+$")
ROLE_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
SKIP_MESSAGE = "lab tests need root (network namespaces); skipped"


def require_root(tools=("ip", "nft", "miniupnpd", "turnserver")):
    """Raise unittest.SkipTest unless this process can build a lab."""
    if os.geteuid() != 0:
        raise unittest.SkipTest(SKIP_MESSAGE)
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        raise unittest.SkipTest("%s (missing: %s)" % (SKIP_MESSAGE, " ".join(missing)))
    # Being root is not enough inside some containers; only creating a
    # namespace proves that `ip netns` works here.
    probe = "cl%s-probe" % secrets.token_hex(3)
    try:
        run_command(["ip", "netns", "add", probe], timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        raise unittest.SkipTest("%s (ip netns unusable: %s)" % (SKIP_MESSAGE, e))
    run_command(["ip", "netns", "del", probe], timeout=10, check=False)


def stun_mapped(host, server, local_port=0, timeout=3.0):
    """The (ip, port) a STUN server sees for host's UDP local_port, or None."""
    ip, port = address_of(server)
    out = host.agent("stun", "%s:%d" % (ip, port), "--local-port", str(local_port),
                     "--timeout", str(timeout), timeout=timeout + 10)
    return tuple(out["mapped"]) if out["mapped"] else None


_LIVE = []
_HANDLERS_INSTALLED = False


def _close_all():
    for lab in list(_LIVE):
        try:
            lab.close()
        except Exception as e:  # teardown of the other labs must still run
            print("netlab: teardown of %s failed: %s" % (lab.prefix, e), file=sys.stderr)


def _install_handlers():
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    _HANDLERS_INSTALLED = True
    atexit.register(_close_all)
    for sig in (signal.SIGTERM, signal.SIGINT):
        prev = signal.getsignal(sig)
        if prev in (signal.SIG_IGN, None):
            continue  # ignored (e.g. SIGINT of a background job): keep it so

        def handler(signum, frame, prev=prev):
            _close_all()
            if callable(prev):
                prev(signum, frame)
            else:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
        signal.signal(sig, handler)


class Lab:
    def __init__(self):
        _install_handlers()
        for _ in range(20):
            self.id = secrets.token_hex(3)
            self.prefix = "cl" + self.id
            if not any(n.startswith(self.prefix + "-") for n in _netns_list()):
                break
        self.work = tempfile.mkdtemp(prefix="netlab-%s-" % self.id)
        with open(os.path.join(self.work, "owner"), "w") as f:
            f.write("%d\n" % os.getpid())
        self.namespaces, self.nodes, self.routers, self.daemons = [], {}, [], []
        self._procs, self._logs, self._closed = [], 0, False
        _LIVE.append(self)
        try:
            self.pub_ns = self._add_ns("pub")
            self._ip("-n", self.pub_ns, "link", "add", "br0", "type", "bridge")
            self._ip("-n", self.pub_ns, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _ip(self, *args):
        return run_command(["ip"] + list(args), timeout=15)

    def _log_path(self, role, name):
        self._logs += 1
        return os.path.join(self.work, "%s-%02d-%s.log" % (role, self._logs, name))

    def _add_ns(self, role):
        # Roles also name the bridge ports, so they must not be the names of
        # the lab's own interfaces.
        taken = role in self.nodes or role in ("lan", "wan", "br0", "eth0", "lo") or (
            role == "pub" and self.namespaces)
        if taken or not ROLE_RE.match(role):
            raise ValueError("role %r: taken or not [a-z][a-z0-9]{0,7}" % role)
        ns = "%s-%s" % (self.prefix, role)
        self._ip("netns", "add", ns)
        self.namespaces.append(ns)
        # No IPv6: its autoconfiguration chatter would only add noise.
        run_command(["ip", "netns", "exec", ns, "sysctl", "-q", "-e", "-w",
                     "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                     # br_netfilter (loaded on this machine) would otherwise run
                     # bridged LAN frames through the router's forward chain.
                     "net.bridge.bridge-nf-call-iptables=0"], timeout=15)
        self._ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def _plug(self, ns, port, peer_ns, peer_name, bridge):
        self._ip("-n", ns, "link", "add", port, "type", "veth", "peer", "name", peer_name,
                 "netns", peer_ns)
        self._ip("-n", ns, "link", "set", port, "master", bridge, "up")
        self._ip("-n", peer_ns, "link", "set", peer_name, "up")

    def _public_ips_in_use(self):
        return {ip for n in self.nodes.values()
                for ip in (getattr(n, "ips", None) or [getattr(n, "wan_ip", None)])
                if ip and ipaddress.ip_address(ip) in PUBLIC_NET}

    def public_host(self, role, ips=None):
        used = self._public_ips_in_use()
        if ips is None:
            ips = [next(str(PUBLIC_NET[i]) for i in range(100, 255)
                        if str(PUBLIC_NET[i]) not in used)]
        for ip in ips:
            a = ipaddress.ip_address(ip)
            if a not in PUBLIC_NET or a in (PUBLIC_NET[0], PUBLIC_NET[-1]) or ip in used:
                raise ValueError("public ip %s: not a free host address of %s" % (ip, PUBLIC_NET))
        ns = self._add_ns(role)
        self._plug(self.pub_ns, role, ns, "eth0", "br0")
        for ip in ips:
            self._ip("-n", ns, "addr", "add", "%s/24" % ip, "dev", "eth0")
        host = Host(self, role, ns, ips)
        self.nodes[role] = host
        return host

    def router(self, role, kind="port-restricted", loss=0, hairpin=False):
        check_kind(kind, loss)
        index = len(self.routers) + 1
        used = self._public_ips_in_use()
        wan = next((str(PUBLIC_NET[i]) for i in range(10 + index, 100)
                    if str(PUBLIC_NET[i]) not in used), None)
        if wan is None or index > 250:
            raise LabError("no wan address left for router %s" % role)
        ns = self._add_ns(role)
        run_command(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        self._plug(self.pub_ns, role, ns, "wan", "br0")
        self._ip("-n", ns, "addr", "add", "%s/24" % wan, "dev", "wan")
        self._ip("-n", ns, "link", "add", "lan", "type", "bridge")
        self._ip("-n", ns, "addr", "add", "10.%d.0.1/24" % index, "dev", "lan")
        self._ip("-n", ns, "link", "set", "lan", "up")
        r = Router(self, role, ns, index, wan, kind, int(loss), bool(hairpin))
        self.nodes[role] = r
        self.routers.append(r)
        r.apply(initial=True)
        return r

    def host(self, role, behind):
        if len(behind.hosts) >= 250:
            raise LabError("LAN of %s is full" % behind.role)
        ip = "10.%d.0.%d" % (behind.index, len(behind.hosts) + 2)
        ns = self._add_ns(role)
        self._plug(behind.ns, role, ns, "eth0", "lan")
        self._ip("-n", ns, "addr", "add", "%s/24" % ip, "dev", "eth0")
        self._ip("-n", ns, "route", "add", "default", "via", behind.lan_ip)
        h = Host(self, role, ns, [ip], router=behind)
        self.nodes[role] = h
        behind.hosts.append(h)
        return h

    def coturn(self, host, port=3478, timeout=15.0):
        d = netlab_daemons.Coturn(self, host, port)
        self.daemons.append(d)
        d.start(timeout)
        return d

    def miniupnpd(self, router, stun, upnp=True, natpmp=True, timeout=30.0):
        d = netlab_daemons.Miniupnpd(self, router, stun, upnp, natpmp)
        self.daemons.append(d)
        d.start(timeout)
        return d

    def impairment_relay(self, host, target, port, delay_ms=0, jitter_ms=0, loss=0, seed=None):
        """UDP relay on host at (host.ip, port) forwarding to target (and the
        answers back) with delay, jitter (reordering) and loss; .stop()
        returns its counts. See netlab_daemons.ImpairmentRelay."""
        d = netlab_daemons.ImpairmentRelay(self, host, target, port, delay_ms, jitter_ms,
                                           loss, seed)
        self.daemons.append(d)
        return d.start()

    def tcp_delay_relay(self, host, target, port, delay_ms):
        """TCP relay on host at (host.ip, port) forwarding to target with
        delay_ms each way (netlab_daemons.TcpDelayRelay)."""
        d = netlab_daemons.TcpDelayRelay(self, host, target, port, delay_ms)
        self.daemons.append(d)
        return d.start()

    def pids(self):
        """Every process now running in the lab's namespaces."""
        return ns_pids(self.namespaces)

    def describe(self):
        lines = ["lab %s  work %s" % (self.prefix, self.work),
                 "  %-8s bridge br0, %s" % ("pub", PUBLIC_NET)]
        for n in self.nodes.values():
            if isinstance(n, Router):
                lines.append("  %-8s router %-15s wan %s lan %s loss %d%% hairpin %s"
                             % (n.role, n.kind, n.wan_ip, n.lan_net, n.loss,
                                "on" if n.hairpin else "off"))
                lines += ["    %-6s %s" % (h.role, h.ip) for h in n.hosts]
            elif n.router is None:
                lines.append("  %-8s public %s" % (n.role, ", ".join(n.ips)))
        return "\n".join(lines)

    def close(self):
        """Stop everything the lab started and remove its namespaces and work
        dir. Safe to call twice; never raises for a process that is gone."""
        if self._closed:
            return
        self._closed = True
        for p in self._procs:
            if p.poll() is None:
                p.terminate()
        _kill_namespaces(self.namespaces)
        for p in self._procs:
            try:
                p.wait(1)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.work, ignore_errors=True)
        if self in _LIVE:
            _LIVE.remove(self)


def _netns_list():
    out = run_command(["ip", "netns", "list"], timeout=10, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def ns_pids(namespaces):
    pids = set()
    for ns in namespaces:
        out = run_command(["ip", "netns", "pids", ns], timeout=10, check=False).stdout
        pids.update(int(p) for p in out.split() if p.isdigit())
    pids.discard(os.getpid())
    return pids


def _kill_namespaces(namespaces):
    """`ip netns del` leaves the processes running: TERM, then KILL, then del."""
    for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
        pids = ns_pids(namespaces)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            time.sleep(0.05)
            pids = ns_pids(namespaces)
        if not pids:
            break
    for ns in reversed(namespaces):
        run_command(["ip", "netns", "del", ns], timeout=10, check=False)


def _owner_alive(work):
    try:
        with open(os.path.join(work, "owner")) as f:
            pid = int(f.read().strip())
        # A zombie counts as gone: PID 1 of a container may never reap it.
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def cleanup_stale():
    """Remove namespaces of labs whose owner process is gone (killed -9)."""
    by_id = {}
    for ns in _netns_list():
        m = NS_RE.match(ns)
        if m:
            by_id.setdefault(m.group(1), []).append(ns)
    removed = []
    for lab_id, names in by_id.items():
        dirs = [os.path.join(tempfile.gettempdir(), d) for d in os.listdir(tempfile.gettempdir())
                if d.startswith("netlab-%s-" % lab_id)]
        if any(_owner_alive(d) for d in dirs):
            continue
        _kill_namespaces(names)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
        removed += names
    return removed


def demo():
    with Lab() as lab:
        pub = lab.public_host("p1", ips=["198.18.0.100", "198.18.0.101"])
        hosts = []
        for i, kind in enumerate(KINDS, 1):
            r = lab.router("r%d" % i, kind=kind)
            hosts.append(lab.host("h%d" % i, behind=r))
        t0 = time.monotonic()
        turn = lab.coturn(pub)
        print("coturn ready in %.2fs at %s:%d" % ((time.monotonic() - t0,) + turn.address))
        print(lab.describe())
        for h in hosts:
            seen = [stun_mapped(h, (ip, 3478), 40000, timeout=1.5) for ip in pub.ips]
            text = ", ".join("%s:%d" % m if m else "no answer" for m in seen)
            print("  %s (%s, %s:40000) STUN-mapped via %s: %s"
                  % (h.role, h.router.kind, h.ip, " / ".join(pub.ips), text))
    return 0


def main(argv):
    if argv[:1] == ["demo"]:
        return demo()
    if argv[:1] == ["cleanup"]:
        for ns in cleanup_stale():
            print("removed", ns)
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""The NAT-pair matrix (../shared/PUNCH-NOTES.md 8.7) in the lab: every
pair of {public, full-cone, port-restricted, symmetric, UPnP router,
NAT-PMP router, UDP blocked} with itself, two hosts behind one router
(hairpin on and off), and two routers that answer unsolicited SYNs with a
RST. In each cell two crust nodes, A and B, each have a public node M as
their only contact (both kept, STUN from a real coturn); A asks to connect
to B by id through M (connect-peer), and a message round trip proves
traffic on the final path.

  /usr/bin/python3 lab/punch_matrix.py [--runs N] [--loss PCT] [--udp-only]
                                       [--delay MS] [--cells PRC-SYM,rst]
                                       [crust-node]

prints the table: per cell whether it connected, on which path (the
transport, and whether the peer's address was a LAN one; "relay>udp" when
a relay carried first, crust.relay-after, and the connection then moved
to the punched path), the rounds of the attempt that got through (the
punched event), the median and p95 time from connect-peer to new_peer on
A (the first connection that carries messages), and the median time to
the direct path (new_peer when punched, path_changed when moved). --loss
drops that share of UDP on every router (the lab's loss is UDP only);
--udp-only turns TCP punching off, so that UDP is what is measured;
--delay puts a TCP relay holding every chunk MS each way between the nodes
and M, so that the signalling path has a real round trip.
tests/lab/test_punch_matrix.py runs each cell once and asserts EXPECTED.
Needs root.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "blackbox"))
import harness  # noqa: E402  (re-runs us with the system python if needed)
import netlab  # noqa: E402
from harness_node import Node  # noqa: E402

KINDS = ("public", "full-cone", "port-restricted", "symmetric", "upnp",
         "natpmp", "udp-blocked")
SHORT = {"public": "PUB", "full-cone": "FC", "port-restricted": "PRC",
         "symmetric": "SYM", "upnp": "UP", "natpmp": "PMP",
         "udp-blocked": "UDPB"}
SPECIAL = ("hairpin-on", "hairpin-off", "rst")

QUIET = ("--crust.beacon=false", "--crust.peer-exchange=false")
ANY = "--crust.listen-address=0.0.0.0"
CONNECT_TIMEOUT = 15  # above crust.punch-timeout (10 s): a hang shows
PUNCH_TIME = 11  # crust.punch-timeout and a margin: a relayed pair may move


def cells():
    """Every unordered pair of KINDS (A the first), then the special cells."""
    out = [(a, b) for i, a in enumerate(KINDS) for b in KINDS[i:]]
    return out + [(s, s) for s in SPECIAL]


def expected(a, b):
    """What theory allows: "tcp", "udp", "connected" (either) or "relay".
    TCP is favoured, so every cell where TCP gets
    through connects over TCP; a symmetric NAT against a port-restricted
    one connects over UDP in birthday mode (rounds 2 and 3); against
    another symmetric NAT or a UDP-blocking one no punch gets through and
    M, which relays, carries a circuit between the two. Behind
    routers that answer stray SYNs with a RST, a TCP punch succeeds only
    when both SYNs cross within a round trip (each RST also ends the
    sender's conntrack entry), which the lab's sub-millisecond links make
    unlikely: UDP gets through instead."""
    pair = {a, b}
    if pair == {"port-restricted", "symmetric"}:
        return "udp"
    if "symmetric" in pair and not pair & {"public", "full-cone", "upnp", "natpmp"}:
        return "relay"
    if a == "rst":
        return "connected"
    if pair == {"full-cone", "symmetric"}:
        # The full cone's router forwards the symmetric side's SYN only once
        # its own host's punch SYN taught it the port: a SYN that comes
        # first is dropped, and the kernel resends it after a second, when
        # UDP (same story, but probed every 100 ms) has won.
        return "connected"
    return "tcp"


def as_expected(result, want):
    if want == "fail":
        return not result["connected"]
    if want == "connected":
        return result["connected"]
    return result["connected"] and result["path"] == want


def label(a, b):
    if a == b and a in SPECIAL:
        return a
    return "%s-%s" % (SHORT[a], SHORT[b])


class Cell:
    """One cell's lab nodes; run() connects A to B once."""

    def __init__(self, lab, turn, m, a_kind, b_kind, tag, loss=0, extra=(),
                 contact=None):
        self.lab, self.turn, self.m = lab, turn, m
        self.contact = contact or m.endpoint
        self.a_kind, self.b_kind, self.tag = a_kind, b_kind, tag
        self.loss, self.extra = loss, tuple(extra)
        self.nodes = []
        self.routers = {}

    def close(self):
        for n in self.nodes:
            n.close()

    def _router(self, name, kind, **kw):
        base = {"upnp": "port-restricted", "natpmp": "port-restricted",
                "hairpin-on": "port-restricted", "hairpin-off": "port-restricted",
                "rst": "port-restricted"}.get(kind, kind)
        r = self.lab.router(name, kind=base, loss=self.loss, **kw)
        if kind in ("upnp", "natpmp"):
            self.lab.miniupnpd(r, stun=self.turn, upnp=kind == "upnp",
                               natpmp=kind == "natpmp")
        if kind == "rst":
            r.set_rst()
        return r

    def _host(self, side, kind, shared=None):
        """The namespace side's node runs in, and the arguments it needs."""
        name = side + self.tag
        args = list(QUIET) + list(self.extra)
        args.append('--crust.stun-servers=["%s:%d"]' % self.turn.address)
        args.append("--crust.upnp=%s" % ("true" if kind in ("upnp", "natpmp") else "false"))
        if kind == "public":
            return self.lab.public_host("h" + name), args, None
        r = shared or self._router("r" + name, kind,
                                   hairpin=kind == "hairpin-on")
        return self.lab.host("h" + name, behind=r), args, r

    def _start(self, host, args, name):
        n = Node(*args, name=name, prefix=host.exec_prefix, listen=ANY)
        self.nodes.append(n)
        return n

    def _ready(self, n, kind):
        """Waits until `n` listens and knows what it needs of the outside."""
        ev = n.wait_for("listening", timeout=10)
        n.id = ev["peer_id"]
        if kind == "udp-blocked":
            # STUN goes unanswered; the outside address comes from M later.
            n.wait_for("external_endpoints", timeout=15)
        elif kind != "public":
            n.wait_for("external_endpoints",
                       lambda e: any(x["source"] == "stun" for x in e["addresses"]),
                       timeout=15)
        if kind in ("upnp", "natpmp"):
            n.wait_for("port_mapping", lambda e: e.get("method"), timeout=15)
        return n

    def setup(self):
        shared = None
        if self.a_kind in ("hairpin-on", "hairpin-off"):
            shared = self._router("r" + self.tag, self.a_kind,
                                  hairpin=self.a_kind == "hairpin-on")
        h_a, args_a, r_a = self._host("a", self.a_kind, shared)
        h_b, args_b, r_b = self._host("b", self.b_kind, shared)
        self.routers = {"a": r_a, "b": r_b}
        # Both start at once: their NAT discovery (seconds) overlaps.
        self.a = self._start(h_a, args_a, "A")
        self.b = self._start(h_b, args_b, "B")
        self._ready(self.a, self.a_kind)
        self._ready(self.b, self.b_kind)
        for n in (self.a, self.b):
            n.send_line("connect " + self.contact)
            n.wait_for("new_peer", lambda e: e["peer_id"] == self.m.id, timeout=10)
            self.m.wait_for("new_peer", lambda e: e["peer_id"] == n.id, timeout=10)
            # A message arrives only once both ends keep: then M introduces.
            n.send_line("send %s hello M" % self.m.id)
            self.m.wait_for("message", lambda e: e["peer_id"] == n.id, timeout=10)
            self.m.send_line("send %s hello %s" % (n.id, n.name))
            n.wait_for("message", lambda e: e["peer_id"] == self.m.id, timeout=10)

    def run(self):
        """Connects A to B by id; a dict: connected, path, lan, seconds,
        reason, remote, and leaked: descriptors A and B hold beyond what
        they held before, once the attempt is over (a connection's one on
        each side when connected)."""
        a, b = self.a, self.b
        before = [fd_count(n) for n in (a, b)]
        result = self._connect()
        # Sockets of the attempt (punch sockets, birthday sockets) close
        # as it ends; give them a moment, bounded.
        allowed = [x + (2 if result["connected"] else 0) for x in before]
        deadline = time.monotonic() + 5
        while True:
            extra = [fd_count(n) - x for n, x in zip((a, b), allowed)]
            if max(extra) <= 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        result["leaked"] = max(0, max(extra))
        return result

    def _connect(self):
        a, b = self.a, self.b
        started = time.monotonic()
        a.send_line("connect-peer %s via %s" % (b.id, self.m.id))
        deadline = started + CONNECT_TIMEOUT
        result = {"connected": False, "path": "none", "lan": False,
                  "seconds": None, "reason": "", "remote": "", "round": None,
                  "first": "none", "direct_seconds": None}
        while time.monotonic() < deadline:
            left = max(0.05, deadline - time.monotonic())
            ev = a.wait_for(("new_peer", "connection_failed"),
                            lambda e: e.get("peer_id") == b.id
                            or e.get("target") == "peer:" + b.id,
                            timeout=left)
            took = time.monotonic() - started
            if ev["event"] == "connection_failed":
                result.update(seconds=took, reason=ev["reason"])
                return result
            b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=10)
            remote = ev["remote"]
            path = remote.split("://")[0].replace("rudp", "udp")
            result.update(connected=True, seconds=took, first=path)
            if ev["origin"] == "relayed":
                if path != "relay":
                    raise AssertionError("relayed new_peer not over a relay: %r" % ev)
                # A punch slower than crust.relay-after gets a circuit
                # alongside; it goes on, and the connection moves if it
                # gets through: follow it to the end of the punch's time.
                self._round_trip()
                moved = self._moved(started)
                if moved is not None:
                    remote = moved["to"]["remote"]
                    path = remote.split("://")[0].replace("rudp", "udp")
                    result["direct_seconds"] = time.monotonic() - started
                    report = a.wait_for("punched", lambda e: e["peer_id"] == b.id,
                                        timeout=12)
                    if report["transport"] != path:
                        raise AssertionError("punched over %s, moved to %s"
                                             % (report["transport"], path))
                    result["round"] = report["round"]
            elif ev["origin"] == "punched":
                # How it went: the punch's report follows new_peer.
                report = a.wait_for("punched", lambda e: e["peer_id"] == b.id, timeout=12)
                if report["transport"] != path:
                    raise AssertionError("punched over %s, new_peer over %s"
                                         % (report["transport"], path))
                result["round"] = report["round"]
                result["direct_seconds"] = took
            else:
                raise AssertionError("new_peer neither punched nor relayed: %r" % ev)
            result.update(remote=remote, path=path,
                          lan=remote.split("//")[1].startswith("10."))
            self._round_trip()
            return result
        return result

    def _moved(self, started):
        """A's path_changed to a direct path within the punch's time (it
        started at `started`), or None."""
        left = started + PUNCH_TIME - time.monotonic()
        if left <= 0:
            return None
        try:
            return self.a.wait_for("path_changed",
                                   lambda e: e["peer_id"] == self.b.id, timeout=left)
        except AssertionError:
            return None  # "no path_changed event": the relay carries on

    def _round_trip(self):
        a, b = self.a, self.b
        a.send_line("send %s ping from A" % b.id)
        got = b.wait_for("message", lambda e: e["peer_id"] == a.id, timeout=10)
        if got.get("text") != "ping from A":
            raise AssertionError("B got %r" % got)
        b.send_line("send %s pong from B" % a.id)
        got = a.wait_for("message", lambda e: e["peer_id"] == b.id, timeout=10)
        if got.get("text") != "pong from B":
            raise AssertionError("A got %r" % got)


class MatrixLab:
    """A lab with a STUN server and the public node M that every cell's
    nodes use; cells get fresh routers (fresh conntrack)."""

    def __init__(self, delay_ms=0):
        self.lab = netlab.Lab()
        # Two IPs: coturn then supports RFC 5780, which miniupnpd checks.
        p1 = self.lab.public_host("p1", ips=["198.18.0.100", "198.18.0.101"])
        self.p2 = self.lab.public_host("p2", ips=["198.18.0.102"])
        self.turn = self.lab.coturn(p1)
        self.m = Node(*QUIET, "--crust.upnp=false", "--crust.relay=true", name="M",
                      prefix=self.p2.exec_prefix, listen=ANY)
        ev = self.m.wait_for("listening", timeout=10)
        self.m.id = ev["peer_id"]
        port = int(ev["endpoints"][0].rsplit(":", 1)[1])
        self.m.endpoint = "tcp://198.18.0.102:%d" % port
        self.contact = self.m.endpoint
        if delay_ms:
            # The nodes reach M through a relay that holds every chunk
            # delay_ms each way: the signalling path's round trip is then
            # four times that, and the offerer's half-round-trip wait counts.
            p4 = self.lab.public_host("p4", ips=["198.18.0.104"])
            self.lab.tcp_delay_relay(p4, ("198.18.0.102", port), 7000, delay_ms)
            self.contact = "tcp://198.18.0.104:7000"
        self.count = 0

    def cell(self, a, b, loss=0, extra=()):
        self.count += 1
        c = Cell(self.lab, self.turn, self.m, a, b, "%d" % self.count, loss, extra,
                 self.contact)
        c.setup()
        return c

    def close(self):
        self.m.close()
        self.lab.close()


def fd_count(node):
    """Open descriptors of a node's process."""
    try:
        return len(os.listdir("/proc/%d/fd" % node.proc.pid))
    except OSError:
        return 0


def percentile(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--loss", type=int, default=0)
    ap.add_argument("--udp-only", action="store_true")
    ap.add_argument("--delay", type=int, default=0,
                    help="ms each way on the nodes' paths to M (a TCP relay)")
    ap.add_argument("--cells", default="", help="e.g. PRC-PRC,rst")
    ap.add_argument("binary", nargs="?")
    opts = ap.parse_args()
    if opts.binary:
        harness.BINARY = os.path.abspath(opts.binary)
    netlab.require_root()
    wanted = [c for c in cells()
              if not opts.cells or label(*c) in opts.cells.split(",")]
    extra = ("--crust.punch-tcp=false",) if opts.udp_only else ()
    results = {c: [] for c in wanted}
    for run in range(opts.runs):
        m = MatrixLab(opts.delay)
        try:
            for a, b in wanted:
                cell = m.cell(a, b, opts.loss, extra)
                try:
                    r = cell.run()
                finally:
                    cell.close()
                results[(a, b)].append(r)
                print("run %d %-12s %s%s" % (run + 1, label(a, b),
                                             "%s %.2f s round %s" % (r["path"], r["seconds"] or 0,
                                                                     r["round"] or "-")
                                             if r["connected"] else "failed: " + r["reason"],
                                             "; %d descriptors left over" % r["leaked"]
                                             if r["leaked"] else ""),
                      file=sys.stderr, flush=True)
        finally:
            m.close()
    title = "loss %d%%%s%s, %d runs" % (
        opts.loss, ", UDP only" if opts.udp_only else "",
        ", %d ms each way to M" % opts.delay if opts.delay else "", opts.runs)
    print("\n%-12s %-9s %-10s %-11s %-7s %-9s %-9s %-9s %s" % (
        "cell", "expected", "connected", "path", "rounds", "median", "p95",
        "direct", title))
    for c in wanted:
        rs = results[c]
        ok = [r for r in rs if r["connected"]]
        # "relay>udp": relayed first (crust.relay-after), then moved.
        paths = sorted({("relay>" if r["first"] == "relay" != r["path"] else "")
                        + r["path"] + (" lan" if r["lan"] else "") for r in ok}) or ["none"]
        times = [r["seconds"] for r in ok]
        direct = [r["direct_seconds"] for r in ok if r["direct_seconds"] is not None]
        # Through the delay relay, M sees the nodes at the relay's address,
        # so its echo (all a UDP-blocked node knows of its outside) is wrong.
        blind = opts.delay and "udp-blocked" in c
        rounds = ",".join(str(n) for n in sorted({r["round"] for r in ok
                                                  if r["round"]})) or "-"
        print("%-12s %-9s %-10s %-11s %-7s %-9s %-9s %-9s" % (
            label(*c), "-" if opts.udp_only or blind else expected(*c),
            "%d/%d" % (len(ok), len(rs)), ",".join(paths), rounds,
            "%.3f s" % statistics.median(times) if times else "-",
            "%.3f s" % percentile(times, 95) if times else "-",
            "%.3f s" % statistics.median(direct) if direct else "-"))


if __name__ == "__main__":
    main()

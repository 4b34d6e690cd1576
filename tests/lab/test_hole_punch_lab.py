#!/usr/bin/env python3
"""Hole punching through real NATs in the lab (lab/netlab.py): two nodes
behind two port-restricted routers (masquerade, no IGD), a public node
that keeps both, STUN from a real coturn. The first asks to connect to the
second by id; the public node introduces them and they punch a path
through both NATs: TCP when both may use it (it is favoured), UDP when
TCP is off. Behind two symmetric NATs neither can be punched: the
attempt fails cleanly within the punch timeout. A dial to a peer learned
from peer exchange that fails turns into an introduction by the peer that
named it. Needs root; skips (exit
0) otherwise. The whole NAT-pair matrix is still to come.

Usage: python3 tests/lab/test_hole_punch_lab.py [path/to/crust-node]
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, os.path.join(REPO, "tests", "blackbox"))
import harness  # noqa: E402  (re-runs us with the system python if needed)
import netlab  # noqa: E402
from harness import _short  # noqa: E402
from harness_case import NodeTestCase  # noqa: E402

P1, P2 = "198.18.0.100", "198.18.0.102"
P3, P3_OTHER = "198.18.0.110", "198.18.0.111"
STUN = "--crust.stun-servers=[\"%s:3478\"]" % P1
QUIET = ("--crust.upnp=false", "--crust.beacon=false", "--crust.peer-exchange=false")
ANY = "--crust.listen-address=0.0.0.0"


class HolePunchLabTest(NodeTestCase):
    pairs = 0

    @classmethod
    def setUpClass(cls):
        netlab.require_root()
        cls.lab = lab = netlab.Lab()
        cls.addClassCleanup(lab.close)
        cls.p1 = lab.public_host("p1", ips=[P1])
        cls.p2 = lab.public_host("p2", ips=[P2])
        cls.turn = lab.coturn(cls.p1)
        # miniupnpd checks RFC 5780 (coturn needs two IPs for that); the
        # nodes keep the one-IP server, whose answers come at once.
        cls.turn_5780 = lab.coturn(lab.public_host("p3", ips=[P3, P3_OTHER]))

    def lab_node(self, host, *args, name):
        n = self.node(*QUIET, *args, name=name, prefix=host.exec_prefix,
                      listen=ANY, start=False)
        ev = n.wait_for("listening", timeout=10)
        n.id = ev["peer_id"]
        n.endpoint = ev["endpoints"][0]
        return n

    def introduced_pair(self, kind, *args, m_args=()):
        """A and B behind two routers of `kind`, both kept by a public M,
        each knowing its outside address from STUN; `args` for A and B,
        `m_args` for M."""
        HolePunchLabTest.pairs += 1
        tag = kind[:2] + str(self.pairs)  # namespaces are the lab's, once
        r_a = self.lab.router("ra" + tag, kind=kind)
        r_b = self.lab.router("rb" + tag, kind=kind)
        h_a = self.lab.host("ha" + tag, behind=r_a)
        h_b = self.lab.host("hb" + tag, behind=r_b)
        m = self.lab_node(self.p2, *m_args, name="M")
        m.endpoint = "tcp://%s:%d" % (P2, m.port)
        a = self.lab_node(h_a, STUN, *args, name="A")
        b = self.lab_node(h_b, STUN, *args, name="B")
        for n in (a, b):
            n.wait_for("external_endpoints",
                       lambda e: any(x["source"] == "stun" for x in e["addresses"]),
                       timeout=15)
            self.connect(n, m)
            self.exchange(n, m)  # kept on both ends
        return m, a, b, r_a, r_b

    def test_port_restricted_pair_punches_tcp(self):
        m, a, b, r_a, r_b = self.introduced_pair("port-restricted")
        started = time.monotonic()
        a.send_line("connect-peer %s via %s" % (b.id, m.id))
        got_a = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=15)
        got_b = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=15)
        took = time.monotonic() - started
        print("punched in %.2f s: %s <-> %s" % (took, got_a["remote"], got_b["remote"]))
        self.assertEqual(got_a["origin"], "punched", _short(got_a))
        self.assertEqual(got_b["origin"], "punched", _short(got_b))
        # Through the routers' outside addresses, not a LAN one.
        self.assertIn(r_b.wan_ip, got_a["remote"], _short(got_a))
        self.assertIn(r_a.wan_ip, got_b["remote"], _short(got_b))
        self.assertTrue(got_a["remote"].startswith("tcp://"), _short(got_a))
        self.exchange(a, b)  # traffic on the punched path

    def test_port_restricted_pair_punches_udp_without_tcp(self):
        m, a, b, r_a, r_b = self.introduced_pair(
            "port-restricted", "--crust.punch-tcp=false")
        started = time.monotonic()
        a.send_line("connect-peer %s via %s" % (b.id, m.id))
        got_a = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=15)
        got_b = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=15)
        took = time.monotonic() - started
        print("punched udp in %.2f s: %s <-> %s" % (took, got_a["remote"], got_b["remote"]))
        for got, r in ((got_a, r_b), (got_b, r_a)):
            self.assertEqual(got["origin"], "punched", _short(got))
            self.assertTrue(got["remote"].startswith("udp://"), _short(got))
            self.assertIn(r.wan_ip, got["remote"], _short(got))
        self.exchange(a, b)  # traffic on the punched path

    def test_a_failed_dial_to_a_learned_peer_becomes_an_introduction(self):
        """B was reachable through its gateway's UPnP mapping when M dialled
        it, so M's peer exchange names B at that address. The mapping is
        gone by the time A learns of B: A's dial fails, and A asks M, who
        told it of B, to introduce them, without being told to."""
        HolePunchLabTest.pairs += 1
        tag = "ai" + str(self.pairs)
        r_a = self.lab.router("ra" + tag, kind="port-restricted")
        r_b = self.lab.router("rb" + tag, kind="port-restricted")
        self.lab.miniupnpd(r_b, stun=self.turn_5780, upnp=True, natpmp=False)
        h_a = self.lab.host("ha" + tag, behind=r_a)
        h_b = self.lab.host("hb" + tag, behind=r_b)
        m = self.node("--crust.upnp=false", "--crust.beacon=false", name="M",
                      prefix=self.p2.exec_prefix, listen=ANY, start=False)
        ev = m.wait_for("listening", timeout=10)
        m.id = ev["peer_id"]
        m.endpoint = "tcp://%s:%s" % (P2, ev["endpoints"][0].rsplit(":", 1)[1])
        b = self.node("--crust.beacon=false", STUN, name="B",
                      prefix=h_b.exec_prefix, listen=ANY, start=False)
        b.id = b.wait_for("listening", timeout=10)["peer_id"]
        mapped = b.wait_for("port_mapping", lambda e: e.get("method"), timeout=20)
        public = [x for x in mapped["external"] if x.startswith("tcp://")][0]
        # M dials B through the mapping: B is in M's cache, and M keeps it.
        m.send_line("connect %s#%s" % (public, b.id))
        m.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=10)
        b.wait_for("new_peer", lambda e: e["peer_id"] == m.id, timeout=10)
        self.exchange(m, b)
        # The mapping goes away (the gateway forgot it).
        r_b.run(["nft", "flush", "chain", "inet", "filter", "prerouting_miniupnpd"])
        a = self.node("--crust.upnp=false", "--crust.beacon=false", STUN,
                      "--crust.connect-timeout=2s", name="A",
                      prefix=h_a.exec_prefix, listen=ANY, start=False)
        a.id = a.wait_for("listening", timeout=10)["peer_id"]
        a.wait_for("external_endpoints",
                   lambda e: any(x["source"] == "stun" for x in e["addresses"]),
                   timeout=15)
        a.send_line("connect " + m.endpoint)
        got = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=30)
        print("introduced after the failed dial: %s" % _short(got))
        # Punched (a dial that worked would say bootstrap_out), through
        # B's NAT (its gateway keeps the listen port: the address is the
        # old mapping's, the way in is the punch's conntrack entry).
        self.assertEqual(got["origin"], "punched", _short(got))
        self.assertIn(r_b.wan_ip, got["remote"], _short(got))
        self.exchange(a, b)

    def test_relayed_pair_moves_to_a_direct_path_when_the_nats_open(self):
        """Behind two symmetric NATs no punch gets through and M relays.
        Then both routers turn port-restricted (and forget the flows toward
        each other, keeping those to M): a later background try punches
        through, both ends hear path_changed to the direct path, and the
        connection carries on there, the same peer."""
        m, a, b, r_a, r_b = self.introduced_pair(
            "symmetric", "--crust.relay-upgrade-interval=2s",
            m_args=("--crust.relay=true",))
        a.send_line("connect-peer %s via %s" % (b.id, m.id))
        got_a = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=30)
        got_b = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=10)
        self.assertEqual(got_a["origin"], "relayed", _short(got_a))
        self.assertEqual(got_b["origin"], "relayed", _short(got_b))
        self.exchange(a, b)  # through the relay
        r_a.set_kind("port-restricted")
        r_b.set_kind("port-restricted")
        r_a.forget_flows_to(r_b.wan_ip)
        r_b.forget_flows_to(r_a.wan_ip)
        started = time.monotonic()
        moved_a = a.wait_for("path_changed", lambda e: e["peer_id"] == b.id,
                             timeout=90)
        moved_b = b.wait_for("path_changed", lambda e: e["peer_id"] == a.id,
                             timeout=15)
        print("moved after %.1f s: %s -> %s" % (time.monotonic() - started,
                                                moved_a["from"]["remote"],
                                                moved_a["to"]["remote"]))
        for moved, r in ((moved_a, r_b), (moved_b, r_a)):
            self.assertEqual(moved["from"]["transport"], "relay", _short(moved))
            self.assertNotEqual(moved["to"]["transport"], "relay", _short(moved))
            self.assertIn(r.wan_ip, moved["to"]["remote"], _short(moved))
        self.exchange(a, b)  # on the direct path now
        self.assert_no_event(a, "peer_lost", lambda e: e["peer_id"] == b.id)
        self.assert_no_event(b, "peer_lost", lambda e: e["peer_id"] == a.id)

    def test_symmetric_pair_fails_cleanly_within_the_punch_timeout(self):
        m, a, b, _, _ = self.introduced_pair("symmetric")
        started = time.monotonic()
        a.send_line("connect-peer %s via %s" % (b.id, m.id))
        ev = a.wait_for("connection_failed", timeout=20)
        took = time.monotonic() - started
        print("failed in %.1f s: %s" % (took, ev["reason"]))
        self.assertEqual(ev["target"], "peer:" + b.id, _short(ev))
        self.assertIn("round 1", ev["reason"], _short(ev))
        self.assertLess(took, 13, "took %.1f s" % took)
        self.assert_no_event(a, "new_peer", lambda e: e["peer_id"] == b.id)


if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
"""crust's NAT traversal against real NATs and servers in the lab
(lab/netlab.py): port mapping through a real miniupnpd (UPnP IGD and
NAT-PMP), STUN through a real coturn and the NAT type behind each router
kind, peer echo, and the bad cases (no IGD, a refusing IGD, an unreachable
STUN server, malformed STUN replies). Needs root; skips (exit 0) otherwise.

Usage: python3 tests/lab/test_nat_traversal.py [path/to/crust-node]
"""

import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, os.path.join(REPO, "tests", "blackbox"))
import harness  # noqa: E402  (re-runs us with the system python if needed)
import netlab  # noqa: E402
from harness_case import NodeTestCase  # noqa: E402

P1, P1_OTHER, P2 = "198.18.0.100", "198.18.0.101", "198.18.0.102"
STUN = "--crust.stun-servers=[\"%s:3478\"]" % P1
NO_UPNP = "--crust.upnp=false"
ANY = "--crust.listen-address=0.0.0.0"


class NatTraversalTest(NodeTestCase):
    @classmethod
    def setUpClass(cls):
        netlab.require_root()
        cls.lab = lab = netlab.Lab()
        # Closed however the class ends, setUpClass failing included.
        cls.addClassCleanup(lab.close)
        cls.p1 = lab.public_host("p1", ips=[P1, P1_OTHER])
        cls.p2 = lab.public_host("p2", ips=[P2])
        cls.r1 = lab.router("r1", kind="port-restricted")   # miniupnpd: UPnP + NAT-PMP
        cls.r2 = lab.router("r2", kind="full-cone")         # no IGD
        cls.r3 = lab.router("r3", kind="symmetric")
        cls.r4 = lab.router("r4", kind="udp-blocked")
        cls.r5 = lab.router("r5", kind="port-restricted")   # miniupnpd: NAT-PMP only
        cls.r6 = lab.router("r6", kind="port-restricted")   # miniupnpd: UPnP only
        cls.h1 = lab.host("h1", behind=cls.r1)
        cls.h2 = lab.host("h2", behind=cls.r2)
        cls.h3 = lab.host("h3", behind=cls.r3)
        cls.h4 = lab.host("h4", behind=cls.r4)
        cls.h5 = lab.host("h5", behind=cls.r5)
        cls.h6 = lab.host("h6", behind=cls.r6)
        cls.turn = lab.coturn(cls.p1)
        cls.igd = lab.miniupnpd(cls.r1, stun=cls.turn, upnp=True, natpmp=True)
        cls.pmp = lab.miniupnpd(cls.r5, stun=cls.turn, upnp=False, natpmp=True)
        # Its own daemon: miniupnpd 2.3.1 answers a refused NAT-PMP request
        # by trying every other port (minutes of work, deaf meanwhile).
        cls.strict = lab.miniupnpd(cls.r6, stun=cls.turn, upnp=True, natpmp=False)

    # -- helpers -------------------------------------------------------------

    def lab_node(self, host, *args, name=None):
        n = self.node(*args, name=name or host.role, prefix=host.exec_prefix,
                      listen=ANY, start=False)
        ev = n.wait_for("listening", timeout=10)
        n.id = ev["peer_id"]
        n.endpoint = ev["endpoints"][0]  # n.port reads it
        return n

    def public_node(self):
        n = self.lab_node(self.p2, NO_UPNP, name="pub")
        n.endpoint = "tcp://%s:%d" % (P2, n.port)
        return n

    def netcheck(self, host, *args, timeout=40):
        started = time.monotonic()
        out = host.run([harness.BINARY, "netcheck", "--json", ANY,
                        "--crust.bootstrap-cache-required=false", *args],
                       timeout=timeout, check=False)
        took = time.monotonic() - started
        lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
        self.assertTrue(lines, "netcheck printed no JSON: %r %r" % (out.stdout, out.stderr))
        return json.loads(lines[-1]), took

    def quit_and_wait_unmapped(self, n, daemon):
        """`n` quits cleanly and its mapping on `daemon` goes."""
        n.send_line("quit")
        n.assert_exits_cleanly(self, "after quit")
        self.wait_unmapped(daemon, n.port)

    def wait_unmapped(self, igd, port, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = [m for m in igd.mappings() if m[1] == port]
            if not left:
                return
            time.sleep(0.1)  # polling the daemon's table, bounded
        self.fail("mappings for port %d still in miniupnpd: %s" % (port, left))

    def connect_from_public(self, node, external):
        pub = self.public_node()
        pub.send_line("connect " + external)
        pub.wait_for("new_peer", lambda e: e["peer_id"] == node.id, timeout=10)
        node.wait_for("new_peer", lambda e: e["peer_id"] == pub.id, timeout=10)
        return pub

    # -- port mapping --------------------------------------------------------

    def test_upnp_maps_the_port_and_a_public_node_connects(self):
        n = self.lab_node(self.h1)
        ev = n.wait_for("port_mapping", timeout=15)
        self.assertEqual(ev["method"], "upnp", ev)
        tcp = "tcp://%s:%d" % (self.r1.wan_ip, n.port)
        self.assertIn(tcp, ev["external"])
        self.assertIn("udp://%s:%d" % (self.r1.wan_ip, n.port), ev["external"])
        self.assertEqual(ev["lease"], 3600)
        mapped = self.igd.mappings()
        self.assertIn(("TCP", n.port, self.h1.ip, n.port), mapped)
        self.assertIn(("UDP", n.port, self.h1.ip, n.port), mapped)
        ext = n.wait_for("external_endpoints", timeout=5)
        self.assertIn({"protocol": "tcp", "address": "%s:%d" % (self.r1.wan_ip, n.port),
                       "source": "upnp"}, ext["addresses"])
        self.connect_from_public(n, tcp)
        self.quit_and_wait_unmapped(n, self.igd)

    def test_moving_ports_maps_the_new_port_first_and_removes_the_old_last(self):
        n = self.lab_node(self.h1, "--crust.rotate-ports-interval=3s",
                          "--crust.rotate-ports-grace=6s")
        first = n.port
        ev = n.wait_for("port_mapping", timeout=15)
        self.assertIn("tcp://%s:%d" % (self.r1.wan_ip, first), ev["external"])
        pub = self.connect_from_public(n, "tcp://%s:%d" % (self.r1.wan_ip, first))
        moved = n.wait_for("listening", timeout=15)
        second = int(moved["endpoints"][0].rsplit(":", 1)[1])
        self.assertNotEqual(second, first, moved)
        tcp_second = "tcp://%s:%d" % (self.r1.wan_ip, second)
        n.wait_for("port_mapping", lambda e: tcp_second in e["external"], timeout=15)
        # The new port is mapped while the old mapping still forwards.
        mapped = self.igd.mappings()
        for proto in ("TCP", "UDP"):
            self.assertIn((proto, second, self.h1.ip, second), mapped)
            self.assertIn((proto, first, self.h1.ip, first), mapped)
        # After the grace the old mapping goes; the new one stays.
        self.wait_unmapped(self.igd, first, timeout=20)
        self.assertIn(("TCP", second, self.h1.ip, second), self.igd.mappings())
        # The connection made through the old mapping carries on, and a
        # newcomer gets in through the new one.
        self.exchange(n, pub)
        self.assert_no_event(n, "peer_lost", lambda e: e["peer_id"] == pub.id)
        other = self.public_node()
        other.send_line("connect tcp://%s:%d" % (self.r1.wan_ip, second))
        other.wait_for("new_peer", lambda e: e["peer_id"] == n.id, timeout=10)
        # Quitting, it removes every mapping it holds (moved ones too).
        n.send_line("quit")
        n.assert_exits_cleanly(self, "after quit")
        deadline = time.monotonic() + 10
        while [m for m in self.igd.mappings() if m[2] == self.h1.ip] \
                and time.monotonic() < deadline:
            time.sleep(0.1)  # polling the daemon's table, bounded
        self.assertFalse([m for m in self.igd.mappings() if m[2] == self.h1.ip],
                         self.igd.mappings())

    def test_a_mapping_is_renewed_at_half_its_lease(self):
        n = self.lab_node(self.h1, "--crust.upnp-lease=60s")
        first = n.wait_for("port_mapping", timeout=15)
        self.assertEqual((first["method"], first["lease"]), ("upnp", 60), first)
        since = time.monotonic()
        again = n.wait_for("port_mapping", timeout=45)
        waited = time.monotonic() - since
        self.assertEqual((again["method"], again["lease"]), ("upnp", 60), again)
        self.assertGreater(waited, 20, "renewed after %.1fs" % waited)
        self.assertIn(("TCP", n.port, self.h1.ip, n.port), self.igd.mappings())
        # (A node killed instead would leave it until the lease runs out.)
        self.quit_and_wait_unmapped(n, self.igd)

    def test_natpmp_maps_the_port_when_the_daemon_has_no_upnp(self):
        n = self.lab_node(self.h5, "--crust.upnp-timeout=1s")
        ev = n.wait_for("port_mapping", timeout=15)
        self.assertEqual(ev["method"], "natpmp", ev)
        tcp = "tcp://%s:%d" % (self.r5.wan_ip, n.port)
        self.assertIn(tcp, ev["external"])
        self.assertIn(("TCP", n.port, self.h5.ip, n.port), self.pmp.mappings())
        self.connect_from_public(n, tcp)
        self.quit_and_wait_unmapped(n, self.pmp)

    def test_no_gateway_falls_back_cleanly_within_the_timeout(self):
        started = time.monotonic()
        n = self.lab_node(self.h2, "--crust.upnp-timeout=1s")
        ev = n.wait_for("port_mapping", timeout=15)
        took = time.monotonic() - started
        self.assertEqual(ev["method"], "", ev)
        self.assertIn("UPnP", ev["error"])
        self.assertIn("NAT-PMP", ev["error"])
        # 1 s of SSDP, 1 s of NAT-PMP, and start-up: never a hang (the
        # bound is generous: it catches a hang, not slowness).
        self.assertLess(took, 10, ev)
        # The node works all the same: it dials out.
        pub = self.public_node()
        n.send_line("connect " + pub.endpoint)
        pub.wait_for("new_peer", lambda e: e["peer_id"] == n.id, timeout=10)

    def test_an_igd_that_refuses_the_mapping_is_reported(self):
        # miniupnpd (secure mode, allow 1024-65535 only) refuses port 900.
        n = self.lab_node(self.h6, "--crust.listen-port=900", "--crust.upnp-timeout=1s")
        ev = n.wait_for("port_mapping", timeout=15)
        self.assertEqual(ev["method"], "", ev)
        self.assertIn("UPnP AddPortMapping TCP 900: 606", ev["error"])
        self.assertIn("NAT-PMP", ev["error"])
        self.assertFalse([m for m in self.strict.mappings() if m[1] == 900])

    # -- STUN and the NAT type -----------------------------------------------

    def test_nat_type_behind_each_router_kind(self):
        cases = [(self.h1, self.r1, "port-restricted", "endpoint-independent",
                  "address-and-port-dependent"),
                 (self.h2, self.r2, "full-cone", "endpoint-independent",
                  "endpoint-independent"),
                 (self.h3, self.r3, "symmetric", "endpoint-dependent", None)]
        for host, router, nat, mapping, filtering in cases:
            with self.subTest(nat):
                report, took = self.netcheck(host, STUN, NO_UPNP)
                self.assertEqual(report["nat_type"], nat, report)
                self.assertEqual(report["mapping"], mapping, report)
                if filtering:
                    self.assertEqual(report["filtering"], filtering, report)
                stun = report["stun"][0]
                self.assertEqual(stun["server"], "%s:3478" % P1)
                self.assertEqual(stun["mapped"].rsplit(":", 1)[0], router.wan_ip, report)
                self.assertEqual(report["error"], "")

    def test_udp_blocked_and_open_internet(self):
        report, _ = self.netcheck(self.h4, STUN, NO_UPNP)
        self.assertEqual(report["nat_type"], "udp-blocked", report)
        self.assertEqual(report["stun"][0]["error"], "no answer")
        report, _ = self.netcheck(self.p2, STUN, NO_UPNP)
        self.assertEqual(report["nat_type"], "open", report)
        self.assertEqual(report["stun"][0]["mapped"].rsplit(":", 1)[0], P2)

    def test_netcheck_reports_upnp_for_a_person(self):
        out = self.h1.run([harness.BINARY, "netcheck", ANY, STUN,
                           "--crust.bootstrap-cache-required=false"], timeout=40)
        text = out.stdout
        self.assertIn("UPnP mapped tcp://%s:" % self.r1.wan_ip, text)
        self.assertIn("NAT type:        port-restricted", text)
        self.assertRegex(text, r"%s:3478 sees us at %s:\d+ \(\d+ ms\)"
                         % (P1.replace(".", r"\."), self.r1.wan_ip.replace(".", r"\.")))
        self.assertIn(self.h1.ip, text)
        # The mapping was removed when netcheck ended.
        self.assertFalse([m for m in self.igd.mappings() if m[2] == self.h1.ip],
                         self.igd.mappings())

    def test_peer_echo_agrees_with_stun(self):
        pub = self.public_node()
        n = self.lab_node(self.h3, STUN, NO_UPNP, "--crust.contacts=[\"%s\"]" % pub.endpoint)
        def has_peer(e):
            return any(a["source"] == "peer" for a in e["addresses"])
        ev = n.wait_for("external_endpoints", has_peer, timeout=15)
        stun_ips = {a["address"].rsplit(":", 1)[0] for a in ev["addresses"]
                    if a["source"] == "stun"}
        peer_ips = {a["address"].rsplit(":", 1)[0] for a in ev["addresses"]
                    if a["source"] == "peer"}
        self.assertEqual(stun_ips, {self.r3.wan_ip}, ev)
        self.assertEqual(peer_ips, {self.r3.wan_ip}, ev)

    def test_the_rudp_socket_learns_its_own_mapping(self):
        # Address discovery's fresh socket shows the NAT's IP; asked again
        # from the rudp socket, STUN names the mapping peers punch to.
        n = self.lab_node(self.h2, STUN, NO_UPNP)
        listening = [e for e in n.seen if e.get("event") == "listening"][0]
        udp_port = [int(e.rsplit(":", 1)[1]) for e in listening["endpoints"]
                    if e.startswith("udp://")][0]
        ev = n.wait_for("external_endpoints",
                        lambda e: any(a["source"] == "stun-rudp" for a in e["addresses"]),
                        timeout=20)
        own = [a for a in ev["addresses"] if a["source"] == "stun-rudp"]
        self.assertEqual(own, [{"protocol": "udp", "source": "stun-rudp",
                                "address": "%s:%d" % (self.r2.wan_ip, udp_port)}], ev)

    # -- bad servers ---------------------------------------------------------

    def test_unreachable_stun_server_gives_up_on_schedule(self):
        report, took = self.netcheck(self.h1, "--crust.stun-servers=[\"%s:3999\"]" % P1,
                                     NO_UPNP)
        self.assertEqual(report["stun"][0]["error"], "no answer", report)
        self.assertEqual(report["nat_type"], "udp-blocked", report)
        self.assertLess(took, 15, report)

    def test_malformed_stun_replies_are_ignored_and_counted(self):
        mangler = self.p1.start([sys.executable, os.path.join(HERE, "stun_mangler.py"),
                                 P1, "4478", "30"], ready="READY")
        self.addCleanup(mangler.stop)
        report, _ = self.netcheck(self.h2, "--crust.stun-servers=[\"%s:4478\"]" % P1,
                                  NO_UPNP)
        self.assertEqual(report["stun"][0]["mapped"].rsplit(":", 1)[0], self.r2.wan_ip,
                         report)
        self.assertGreaterEqual(report["stun_ignored"], 1, report)


if __name__ == "__main__":
    harness.main()

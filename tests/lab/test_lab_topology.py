#!/usr/bin/env python3
"""Self-test of the NAT lab (lab/netlab.py): each router kind behaves as
documented, coturn and miniupnpd work inside it, and teardown leaves
nothing behind. Needs root; skips (exit 0) otherwise.

Usage: python3 tests/lab/test_lab_topology.py
"""

import os
import subprocess
import sys
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "lab"))
import netlab  # noqa: E402

P1, P1_OTHER = "198.18.0.100", "198.18.0.101"


def lab_namespaces(prefix):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix + "-")]


def alive(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return "zombie" not in f.read().lower()
    except FileNotFoundError:
        return False


class LabTopologyTest(unittest.TestCase):
    """One lab for the whole class; every test uses local ports of its own,
    because conntrack keeps the NAT binding a flow started with."""

    @classmethod
    def setUpClass(cls):
        netlab.require_root()
        t0 = time.monotonic()
        cls.lab = lab = netlab.Lab()
        # Closed however the class ends, setUpClass failing included.
        cls.addClassCleanup(lab.close)
        cls.p1 = lab.public_host("p1", ips=[P1, P1_OTHER])
        cls.p2 = lab.public_host("p2")
        cls.r1 = lab.router("r1", kind="port-restricted")
        cls.r2 = lab.router("r2", kind="full-cone", hairpin=True)
        cls.r3 = lab.router("r3", kind="symmetric")
        cls.r4 = lab.router("r4", kind="udp-blocked")
        cls.r5 = lab.router("r5", kind="port-restricted", loss=20)
        cls.h1 = lab.host("h1", behind=cls.r1)
        cls.h1b = lab.host("h1b", behind=cls.r1)
        cls.h2 = lab.host("h2", behind=cls.r2)
        cls.h2b = lab.host("h2b", behind=cls.r2)
        cls.h3 = lab.host("h3", behind=cls.r3)
        cls.h4 = lab.host("h4", behind=cls.r4)
        cls.h5 = lab.host("h5", behind=cls.r5)
        cls.turn = lab.coturn(cls.p1)
        # Replies carry the source address seen; a second socket then pokes
        # that address unasked, from another port (5003) or another IP.
        cls.p1.agent_start("echo", "5001", "5002", "--bind", P1,
                           "--unsolicited-from", "5003")
        cls.p1.agent_start("echo", "5011", "--bind", P1, "--unsolicited-from", "5013",
                           "--unsolicited-ip", P1_OTHER)
        t1 = time.monotonic()
        cls.igd = lab.miniupnpd(cls.r1, stun=cls.turn, upnp=True, natpmp=True)
        print("\nlab %s built in %.1fs, miniupnpd ready in %.1fs"
              % (lab.prefix, t1 - t0, time.monotonic() - t1), file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()
        assert not lab_namespaces(cls.lab.prefix), lab_namespaces(cls.lab.prefix)
        assert not os.path.exists(cls.lab.work), cls.lab.work

    def probe(self, host, local_port, targets, tries=3, wait=0.4):
        return host.agent("probe", *targets, "--local-port", local_port,
                          "--tries", tries, "--wait", wait)

    def test_port_restricted_keeps_port_and_filters(self):
        out = self.probe(self.h1, 41001, ["%s:5001" % P1, "%s:5002" % P1, "%s:5011" % P1])
        mine = "%s:41001" % self.r1.wan_ip
        self.assertEqual(out["seen"], {"%s:5001" % P1: mine, "%s:5002" % P1: mine,
                                       "%s:5011" % P1: mine})
        self.assertEqual(out["unsolicited"], [])

    def test_full_cone_lets_anyone_reach_a_mapping(self):
        out = self.probe(self.h2, 42001, ["%s:5001" % P1, "%s:5011" % P1])
        mine = "%s:42001" % self.r2.wan_ip
        self.assertEqual(set(out["seen"].values()), {mine})
        self.assertIn([P1, 5003], out["unsolicited"])
        self.assertIn([P1_OTHER, 5013], out["unsolicited"])

    def test_symmetric_changes_port_per_destination(self):
        out = self.probe(self.h3, 43001, ["%s:5001" % P1, "%s:5002" % P1])
        seen = list(out["seen"].values())
        self.assertTrue(all(s and s.startswith(self.r3.wan_ip + ":") for s in seen), seen)
        self.assertNotEqual(seen[0], seen[1])
        self.assertEqual(out["unsolicited"], [])

    def test_udp_blocked_times_out(self):
        out = self.probe(self.h4, 44001, ["%s:5001" % P1, "%s:5002" % P1], tries=2, wait=0.3)
        self.assertEqual(out["seen"], {"%s:5001" % P1: None, "%s:5002" % P1: None})

    def test_set_kind_applies_to_new_flows(self):
        self.r3.set_kind("port-restricted")
        try:
            out = self.probe(self.h3, 43101, ["%s:5001" % P1, "%s:5002" % P1])
            self.assertEqual(set(out["seen"].values()), {"%s:43101" % self.r3.wan_ip})
        finally:
            self.r3.set_kind("symmetric")

    def hairpin(self, router, a, b, port):
        """b aims at a's public endpoint (router WAN, a's mapped port); the
        datagram a receives, if any."""
        self.probe(a, port, ["%s:5001" % P1])  # a's outgoing flow makes the mapping
        sink = a.agent_start("sink", port, "--stop-after", 1, "--max-seconds", 1.5)
        b.agent("send", "%s:%d" % (router.wan_ip, port), "--local-port", port + 50,
                "--count", 3, "--rate", 20)
        got = sink.result(10)
        return got["first"][0][:2] if got["count"] else None

    def test_hairpin_shows_the_senders_public_endpoint(self):
        self.assertEqual(self.hairpin(self.r2, self.h2, self.h2b, 42101),
                         [self.r2.wan_ip, 42151])
        self.assertIsNone(self.hairpin(self.r1, self.h1, self.h1b, 41101))
        self.r1.set_hairpin(True)
        try:
            self.assertEqual(self.hairpin(self.r1, self.h1, self.h1b, 41102),
                             [self.r1.wan_ip, 41152])
        finally:
            self.r1.set_hairpin(False)
        self.r2.set_hairpin(False)
        try:
            self.assertIsNone(self.hairpin(self.r2, self.h2, self.h2b, 42102))
        finally:
            self.r2.set_hairpin(True)

    def test_loss_about_twenty_percent(self):
        sink = self.p1.agent_start("sink", 6000, "--idle", 1.0, "--max-seconds", 15)
        self.h5.agent("send", "%s:6000" % P1, "--count", 500, "--rate", 2000)
        got = sink.result(20)["count"]
        lost = 1 - got / 500
        print("\nloss=20%%: %d of 500 arrived (%.0f%% lost)" % (got, 100 * lost), file=sys.stderr)
        self.assertTrue(0.05 <= lost <= 0.45, lost)

    def test_coturn_sees_router_wan_address(self):
        self.assertEqual(netlab.stun_mapped(self.h1, self.turn, 41020), (self.r1.wan_ip, 41020))
        self.assertEqual(netlab.stun_mapped(self.p2, self.turn, 41021), (self.p2.ip, 41021))
        mapped = netlab.stun_mapped(self.h3, self.turn, 43020)
        self.assertEqual(mapped[0], self.r3.wan_ip)
        self.assertIsNone(netlab.stun_mapped(self.h4, self.turn, 44020, timeout=1.0))

    def test_upnp_mapping_forwards_then_goes(self):
        listener = self.h1.agent_start("tcp-listen", 4000, "--max-seconds", 10)
        upnpc = ["upnpc", "-i", "-u", self.igd.url]
        out = self.h1.run(upnpc + ["-a", self.h1.ip, "4000", "4000", "TCP"], timeout=20)
        self.assertIn("is redirected to internal %s:4000" % self.h1.ip, out.stdout)
        self.assertIn(("TCP", 4000, self.h1.ip, 4000), self.igd.mappings())
        got = self.p2.agent("tcp-connect", "%s:4000" % self.r1.wan_ip, "--data", "hi",
                            "--timeout", 3, "--retry")
        self.assertTrue(got["ok"], got)
        self.assertEqual(got["reply"], "hello from %s:4000" % self.h1.ip)
        self.assertEqual(listener.result(10)["peer"][0], self.p2.ip)
        self.h1.run(upnpc + ["-d", "4000", "TCP"], timeout=20)
        self.assertNotIn(4000, [m[1] for m in self.igd.mappings()])
        gone = self.p2.agent("tcp-connect", "%s:4000" % self.r1.wan_ip, "--timeout", 1)
        self.assertFalse(gone["ok"], gone)

    def test_natpmp_mapping_forwards(self):
        out = self.h1.run(["natpmpc", "-g", self.r1.lan_ip, "-a", "4001", "4001", "udp", "600"],
                          timeout=20)
        self.assertIn("Mapped public port 4001 protocol UDP to local port 4001", out.stdout)
        self.assertIn(("UDP", 4001, self.h1.ip, 4001), self.igd.mappings())
        self.r1.set_loss(0)  # re-applying the lab's rules keeps miniupnpd's
        sink = self.h1.agent_start("sink", 4001, "--stop-after", 1, "--max-seconds", 5)
        self.p2.agent("send", "%s:4001" % self.r1.wan_ip, "--count", 3, "--rate", 20)
        got = sink.result(10)
        self.assertEqual(got["count"], 1, got)
        self.assertEqual(got["first"][0][0], self.p2.ip)


    def test_impairment_relay_delays_and_reorders(self):
        relay = self.lab.impairment_relay(self.p2, (P1, 6100), 6200, delay_ms=40,
                                          jitter_ms=20, seed=7)
        sink = self.p1.agent_start("sink", 6100, "--idle", 3, "--max-seconds", 10,
                                   "--stop-after", 201, "--reply")
        out = self.h1.agent("send", "%s:6200" % self.p2.ip, "--local-port", 41200,
                            "--count", 1, "--wait-reply", 1.0)
        self.assertEqual(len(out["replies"]), 1, out)
        self.assertGreaterEqual(out["rtt"], 0.075)  # two passes, each 40-60 ms
        self.h1.agent("send", "%s:6200" % self.p2.ip, "--local-port", 41200,
                      "--count", 200, "--rate", 1000)
        got = sink.result(10)
        self.assertEqual(got["count"], 201, got)
        self.assertGreater(got["reordered"], 0, got)
        self.assertEqual(got["first"][0][0], self.p2.ip)  # the relay is the peer
        self.assertEqual(relay.stop()["clients"], 1)


class LabTeardownTest(unittest.TestCase):

    def setUp(self):
        netlab.require_root(tools=("ip", "nft"))

    def test_close_removes_namespaces_processes_and_work_dir(self):
        with netlab.Lab() as lab:
            lab.public_host("p1")
            r = lab.router("r1")
            h = lab.host("h1", behind=r)
            sink = h.agent_start("sink", 7000, "--max-seconds", 60)
            # Started behind the lab's back: only the namespace sweep finds it.
            h.run(["sh", "-c", "sleep 60 >/dev/null 2>&1 &"])
            self.assertEqual(len(lab_namespaces(lab.prefix)), 4)
            pids = lab.pids()
            self.assertGreaterEqual(len(pids), 2)
        self.assertEqual(lab_namespaces(lab.prefix), [])
        self.assertFalse(os.path.exists(lab.work))
        self.assertIsNotNone(sink.popen.poll())
        for pid in pids:
            self.assertFalse(alive(pid), "pid %d survived teardown" % pid)

    def test_two_labs_get_different_names(self):
        with netlab.Lab() as a, netlab.Lab() as b:
            self.assertNotEqual(a.prefix, b.prefix)
            a.router("r1")
            b.router("r1")
            self.assertNotEqual(a.routers[0].ns, b.routers[0].ns)


if __name__ == "__main__":
    # ctest passes the crust-node binary, which this lab self-test needs
    # not; test names and options stay.
    if len(sys.argv) > 1 and os.path.isfile(sys.argv[1]) \
            and os.access(sys.argv[1], os.X_OK):
        del sys.argv[1]
    unittest.main(argv=sys.argv, verbosity=2)

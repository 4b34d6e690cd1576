#!/usr/bin/env python3
"""Hole punching through crust-node's commands: a mutual peer introduces
two nodes, which punch a TCP path from their listen ports, or a UDP one
without TCP; or the two carry each other's connection info themselves
(prepare-info, connect-info). No NAT on loopback: the lab has those. Bad
input to the introducer, and bad connection info, is refused.

Run alone:  /usr/bin/python3 tests/blackbox/test_hole_punch.py [PATH/TO/crust-node]
"""

import json
import os

import harness
from harness import _short
from harness_case import NodeTestCase
from harness_wire import T_FORWARD, T_FORWARD_FAILED

QUIET = ("--crust.beacon=false", "--crust.peer-exchange=false")


class HolePunchTest(NodeTestCase):
    """connect-peer, introduce, punched origin, failures."""

    def test_connect_peer_through_a_mutual_peer(self):
        m = self.node(*QUIET, name="M")
        a = self.node(*QUIET, name="A")
        b = self.node(*QUIET, name="B")
        self.connect(a, m)
        self.connect(b, m)
        self.exchange(a, m)  # messages flow once both ends keep
        self.exchange(b, m)
        a.send_line("connect-peer %s via %s" % (b.id, m.id[:12]))
        got_a = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        got_b = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.assertEqual(got_a["origin"], "punched", _short(got_a))
        self.assertEqual(got_b["origin"], "punched", _short(got_b))
        self.assertEqual(got_a["local"], a.endpoint, _short(got_a))
        self.exchange(a, b)

    def test_connect_peer_over_udp_when_tcp_is_off(self):
        udp = QUIET + ("--crust.punch-tcp=false",)
        m = self.node(*udp, name="M")
        a = self.node(*udp, name="A")
        b = self.node(*udp, name="B")
        for n in (a, b):
            self.connect(n, m)
            self.exchange(n, m)
        a.send_line("connect-peer %s" % b.id)
        got_a = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        got_b = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        for got in (got_a, got_b):
            self.assertEqual(got["origin"], "punched", _short(got))
            self.assertTrue(got["remote"].startswith("udp://"), _short(got))
        self.exchange(a, b)

    def test_connection_info_carried_by_hand(self):
        a = self.node(*QUIET, name="A")
        b = self.node(*QUIET, name="B")
        a.send_line("connect-info {}")
        err = a.wait_for("error")
        self.assertIn("prepare-info first", err["message"], _short(err))
        a.send_line("prepare-info")
        b.send_line("prepare-info")
        info_a = a.wait_for("connection_info")
        info_b = b.wait_for("connection_info")
        self.assertEqual(info_a["peer_id"], a.id, _short(info_a))
        self.assertEqual(info_a["info"]["peer_id"], a.id, _short(info_a))
        self.assertTrue(info_a["info"]["candidates"], _short(info_a))
        # B takes A's whole line as printed, A takes only B's info object.
        b.send_line("connect-info " + json.dumps(info_a))
        a.send_line("connect-info " + json.dumps(info_b["info"]))
        got_a = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        got_b = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.assertEqual(got_a["origin"], "punched", _short(got_a))
        self.assertEqual(got_b["origin"], "punched", _short(got_b))
        self.exchange(a, b)
        # Garbage and an altered half are refused, saying why.
        a.send_line("prepare-info")
        a.wait_for("connection_info")
        a.send_line("connect-info not json at all")
        ev = a.wait_for("connection_failed")
        self.assertEqual(ev["target"], "connection-info", _short(ev))
        self.assertIn("not a JSON object", ev["reason"], _short(ev))
        forged = dict(info_b["info"])
        # Not what B signed.
        forged["mapping"] = "none" if forged["mapping"] != "none" else "unknown"
        a.send_line("connect-info " + json.dumps(forged))
        ev = a.wait_for("connection_failed")
        self.assertIn("signature", ev["reason"], _short(ev))

    def test_connect_peer_that_nobody_knows_fails_clearly(self):
        m = self.node(*QUIET, name="M")
        a = self.node(*QUIET, name="A")
        self.connect(a, m)
        self.exchange(a, m)
        stranger = "ab" * 32
        a.send_line("connect-peer " + stranger)
        ev = a.wait_for("connection_failed", timeout=15)
        self.assertEqual(ev["target"], "peer:" + stranger, _short(ev))
        self.assertIn("no mutual peer", ev["reason"], _short(ev))
        a.send_line("connect-peer nothex")
        err = a.wait_for("error")
        self.assertIn("not a peer id", err["message"], _short(err))

    def test_the_introducer_refuses_what_it_cannot_pass_on(self):
        m = self.node(*QUIET, name="M")
        r = self.raw_peer(m)
        r.send_message("kept?")
        m.wait_for("message")  # delivered: M keeps the raw peer
        r.send_frame(T_FORWARD, os.urandom(32) + b"\x01" + os.urandom(16))
        kind, body = r.read_frame_skipping_pings()
        self.assertEqual(kind, T_FORWARD_FAILED)
        self.assertEqual(body[32], 1, body.hex())  # not connected
        self.assert_no_event(m, "misbehaving")


if __name__ == "__main__":
    harness.main()

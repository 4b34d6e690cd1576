#!/usr/bin/env python3
"""Hole punching through crust-node's commands: a mutual peer introduces
two nodes, which punch a TCP path from their listen ports (no NAT on
loopback: the lab has those). Bad input to the introducer is refused.

Run alone:  /usr/bin/python3 tests/blackbox/test_hole_punch.py [PATH/TO/crust-node]
"""

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

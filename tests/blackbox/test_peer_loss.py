#!/usr/bin/env python3
"""Peers that die or fall silent are reported lost (heartbeats).

Run alone:  /usr/bin/python3 tests/blackbox/test_peer_loss.py [PATH/TO/crust-node]
"""

import os
import signal
import time

import harness
from harness import _short, payload
from harness_case import NodeTestCase
from harness_node import FAST_HEARTBEAT
from harness_wire import T_CLOSE, T_OBSERVED, T_PEERS_REQUEST, T_PING


class PeerLossTest(NodeTestCase):
    """peer_lost after a kill or a silence."""

    # 11
    def test_peer_killed_mid_stream_is_reported_lost(self):
        a = self.node(*FAST_HEARTBEAT, name="A")
        b = self.node(*FAST_HEARTBEAT, name="B")
        self.connect(b, a)
        self.exchange(a, b)
        # B is in the middle of a stream when it dies.
        for i in range(20):
            b.send_line("send %s %s" % (a.id, payload(i, 4000)))
        a.wait_for("message", lambda e: e["peer_id"] == b.id)
        os.kill(b.proc.pid, signal.SIGKILL)
        b.wait_exit()
        # Heartbeat timeout (1s) plus slack for a loaded machine.
        a.wait_for("peer_lost", lambda e: e["peer_id"] == b.id, timeout=3)
        a.send_line("peers")
        self.assertEqual(a.wait_for("peers")["peers"], [])

    # 12
    def test_silent_peer_is_lost_after_heartbeat_timeout(self):
        a = self.node(*FAST_HEARTBEAT, name="A")
        # One raw peer whose id is below A's (it leads and sends SELECT) and
        # one whose id is above (A leads and sends SELECT).
        peers = []
        for raw_leads in (True, False):
            r = self.raw_peer(a, lower=raw_leads)
            peers.append((r.identity.hex, r, time.monotonic()))
        # From now on the raw peers say nothing at all.
        for hex_id, r, since in peers:
            lost = a.wait_for("peer_lost", lambda e, h=hex_id: e["peer_id"] == h, timeout=5)
            waited = time.monotonic() - since
            self.assertIn("heartbeat", lost["reason"].lower(), _short(lost))
            self.assertGreaterEqual(waited, 0.5, "lost after only %.2fs: %s"
                                    % (waited, _short(lost)))
            self.assertTrue(r.wait_closed(timeout=5))
            # What the node sent meanwhile decrypts: PINGs, maybe a CLOSE,
            # the peer exchange request a kept peer gets, and where the
            # node saw us.
            types = set(t for t, _ in r.frames_left())
            self.assertLessEqual(types, {T_PING, T_CLOSE, T_PEERS_REQUEST,
                                         T_OBSERVED}, types)
        self.assert_no_event(a, "misbehaving")


if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
"""What the wire reveals, which id a pinned endpoint must prove, and
which connection survives when a peer connects twice (same session,
a restart, both sides at once).

Run alone:  /usr/bin/python3 tests/blackbox/test_wire_privacy_and_dedup.py [PATH/TO/crust-node]
"""

import json
import os
import struct

import harness
from harness import _short
from harness_case import NodeTestCase
from harness_proxy import RecordingProxy
from harness_wire import CLOSE_SUPERSEDED, T_CLOSE, TAG_LEN, Identity, x25519_of


class WirePrivacyAndDedupTest(NodeTestCase):
    """Connections between authenticated peers."""

    def test_wire_privacy_through_a_recording_proxy(self):
        a = self.node(name="A")
        b = self.node(name="B")
        proxy = RecordingProxy(a.port)
        self.addCleanup(proxy.close)
        b.send_line("connect " + proxy.endpoint)
        out = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.assertEqual(out["remote"], proxy.endpoint, _short(out))
        a.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        canary = "wire-privacy-canary-" + os.urandom(8).hex()
        self.exchange(b, a, canary + " from B", canary + " from A")
        to_a, to_b = proxy.recorded()
        self.assertEqual(proxy.connections, 1, proxy.errors)
        # The handshake is there, shaped as the protocol says...
        def first_records(tape, n):
            out, pos = [], 0
            while len(out) < n and pos + 2 <= len(tape):
                length = struct.unpack(">H", tape[pos:pos + 2])[0]
                out.append(length)
                pos += 2 + length
            return out
        self.assertEqual(first_records(to_a, 2), [32, 48 + 41 + TAG_LEN],
                         "dialler's records: message 1 (e), message 3 (s, HELLO)")
        self.assertEqual(first_records(to_b, 1), [32 + 48 + 41 + TAG_LEN],
                         "listener's first record: message 2 (e, s, HELLO)")
        # ...but nothing that identifies the peers or what they said.
        secrets = {"the message text": canary.encode()}
        for n in (a, b):
            pid = bytes.fromhex(n.id)
            secrets["%s's peer id (raw)" % n.name] = pid
            secrets["%s's peer id (hex)" % n.name] = n.id.encode()
            secrets["%s's peer id (HEX)" % n.name] = n.id.upper().encode()
            secrets["%s's X25519 static key" % n.name] = x25519_of(pid)
        for direction, tape in (("B->A", to_a), ("A->B", to_b)):
            for what, secret in secrets.items():
                self.assertNotIn(secret, tape, "%s found in the %s bytes" % (what, direction))

    def test_pinned_endpoint_must_answer_with_that_id(self):
        a = self.node(name="A")
        b = self.node(name="B")
        wrong = Identity().hex
        target = "%s#%s" % (a.endpoint, wrong)
        b.send_line("connect " + target)
        failed = b.wait_for("connection_failed")
        self.assertEqual(failed["target"], target, _short(failed))
        self.assert_no_peers(b)
        self.assert_no_event(b, "new_peer")
        # The right id connects.
        b.send_line("connect %s#%s" % (a.endpoint, a.id))
        b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        a.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        self.exchange(a, b)

    def test_second_connection_of_the_same_session(self):
        a = self.node(name="A")
        with self.subTest("A leads: the later connection is the duplicate"):
            me = Identity.ordered(a.id, lower=False)
            first = self.raw_peer(a, identity=me, session=5)
            second = self.raw(a.port)
            second.noise_handshake(a.id, Identity(me.seed), 5)
            ftype, body = second.read_frame_skipping_pings()
            self.assertEqual((ftype, body[:1]), (T_CLOSE, b"\x02"),
                             "expected CLOSE(duplicate), got %d %r" % (ftype, body[:40]))
            self.assertTrue(second.wait_closed(timeout=5))
            first.send_message("first lives")
            got = a.wait_for("message", lambda e: e["peer_id"] == me.hex)
            self.assertEqual(got.get("text"), "first lives")
            a.send_line("peers")
            peers = a.wait_for("peers")["peers"]
            self.assertEqual([(p["peer_id"], p["remote"]) for p in peers],
                             [(me.hex, "tcp://" + first.local_address)], json.dumps(peers))
            self.assert_no_event(a, "peer_lost")
            first.close()
            a.wait_for("peer_lost", lambda e: e["peer_id"] == me.hex)
        with self.subTest("the raw peer leads: A follows its SELECT"):
            me = Identity.ordered(a.id, lower=True)
            first = self.raw_peer(a, identity=me, session=5)
            second = self.raw(a.port)
            second.handshake(a.id, Identity(me.seed), session=5)  # sends SELECT
            self.assertTrue(first.wait_closed(timeout=5), "A kept the unselected connection")
            second.send_message("second lives")
            got = a.wait_for("message", lambda e: e["peer_id"] == me.hex)
            self.assertEqual(got.get("text"), "second lives")
            a.send_line("peers")
            peers = a.wait_for("peers")["peers"]
            self.assertEqual([(p["peer_id"], p["remote"]) for p in peers],
                             [(me.hex, "tcp://" + second.local_address)], json.dumps(peers))

    def test_restarted_peer_supersedes_its_old_connection(self):
        for raw_leads in (True, False):
            with self.subTest(raw_leads=raw_leads):
                a = self.node(name="A")
                me = Identity.ordered(a.id, raw_leads)
                hex_id = me.hex
                first = self.raw_peer(a, identity=me, session=1)
                first.send_message("before restart")
                self.assertEqual(a.wait_for("message")["text"], "before restart")
                # Same key (same seed), new session: the peer restarted.
                second = self.raw(a.port)
                second.handshake(a.id, Identity(me.seed), session=2)
                lost = a.wait_for("peer_lost", lambda e: e["peer_id"] == hex_id)
                self.assertIn("supersede", lost["reason"], _short(lost))
                ev = a.wait_for("new_peer", lambda e: e["peer_id"] == hex_id)
                self.assertEqual(ev["remote"], "tcp://" + second.local_address, _short(ev))
                self.assertTrue(first.wait_closed(timeout=5), "the old connection stayed open")
                if not raw_leads:
                    # A leads: it says why it closes the old connection.
                    closes = [b for t, b in first.frames_left() if t == T_CLOSE]
                    self.assertTrue(closes and closes[0][:1] == bytes([CLOSE_SUPERSEDED]),
                                    "CLOSE frames on the old connection: %r" % closes)
                second.send_message("after restart")
                self.assertEqual(a.wait_for("message")["text"], "after restart")
                a.send_line("peers")
                peers = a.wait_for("peers")["peers"]
                self.assertEqual([(p["peer_id"], p["remote"]) for p in peers],
                                 [(hex_id, "tcp://" + second.local_address)],
                                 json.dumps(peers))
                a.close()

    def test_simultaneous_connect_yields_one_connection(self):
        a = self.node(name="A")
        b = self.node(name="B")
        a.send_line("connect " + b.endpoint)
        b.send_line("connect " + a.endpoint)
        a.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.exchange(a, b)
        self.exchange(b, a)
        for n, other in ((a, b), (b, a)):
            n.send_line("peers")
            peers = n.wait_for("peers")["peers"]
            self.assertEqual([p["peer_id"] for p in peers], [other.id], json.dumps(peers))
            n.drain()
            events = [e["event"] for e in n.seen]
            self.assertEqual(events.count("new_peer"), 1, n._report())
            self.assertNotIn("peer_lost", events, n._report())


if __name__ == "__main__":
    harness.main()

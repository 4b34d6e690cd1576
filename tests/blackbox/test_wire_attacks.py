#!/usr/bin/env python3
"""Hostile peers on the wire: garbage, oversize records, records that
do not decrypt, replays, handshake abuse, lying ids, other networks.
The node reports each as misbehaving, closes it, and keeps serving.

Run alone:  /usr/bin/python3 tests/blackbox/test_wire_attacks.py [PATH/TO/crust-node]
"""

import os
import random
import struct

import harness
from harness import _short
from harness_case import NodeTestCase
from harness_wire import (F_LAST, F_NORMAL, T_BATCH, T_DATA, T_FORWARD, T_FORWARD_FAILED,
                          T_HELLO_V1, T_SELECT, TAG_LEN,
                          Identity, record)


class WireAttackTest(NodeTestCase):
    """Raw peers that break protocol 3 on purpose."""

    # 9
    def test_oversize_record_raises_misbehaving_and_node_keeps_serving(self):
        # With the default limit (65535) no u16 length is too long: lower it.
        a = self.node("--crust.max-frame-size=17408", name="A")
        # Before the handshake: judged by the length alone (the body never comes).
        evil = self.raw(a.port)
        evil.send(struct.pack(">H", 0xFFFF) + b"\0" * 8)
        self.expect_misbehaving(a, evil, "oversize")
        # After the handshake, too.
        evil2 = self.raw_peer(a)
        evil2.send(struct.pack(">H", 0xFFFF) + b"\0" * 8)
        self.expect_misbehaving(a, evil2, "oversize")
        a.wait_for("peer_lost", lambda e: e["peer_id"] == evil2.identity.hex)
        b = self.node(name="B")
        self.connect(b, a)
        self.exchange(a, b)

    def test_record_just_over_max_frame_size_is_oversize(self):
        a = self.node("--crust.max-frame-size=17408", name="A")
        r = self.raw_peer(a)
        # A record of exactly 17408 bytes (the smallest legal limit) (tag, type, flags, chunk) is fine...
        chunk = "x" * (17408 - TAG_LEN - 2)
        rec = r.data_record(chunk)
        self.assertEqual(len(rec), 2 + 17408)
        r.send(rec)
        got = a.wait_for("message", lambda e: e["peer_id"] == r.identity.hex)
        self.assertEqual(got.get("text"), chunk, _short(got))
        # ...one byte more is not, and the length alone tells.
        r.send(struct.pack(">H", 17409))
        self.expect_misbehaving(a, r, "oversize")

    # 10
    def test_garbage_records_raise_misbehaving(self):
        a = self.node("--crust.handshake-timeout=1s", name="A")
        rnd = random.Random()
        seed = rnd.randrange(1 << 30)
        rnd.seed(seed)

        def junk(n):
            return bytes(rnd.randrange(256) for _ in range(n))

        # Well-formed records of random bytes: never a handshake message 1,
        # which is exactly one key (32 bytes) and an empty payload.
        evil = self.raw(a.port)
        evil.send(b"".join(record(junk(rnd.randrange(33, 300))) for _ in range(3)))
        self.expect_misbehaving(a, evil, "handshake_invalid", note="seed %d: " % seed)
        # A message 1 that could be one (32 random bytes), then garbage as
        # message 3: the node answers with message 2, then objects.
        evil2 = self.raw(a.port)
        evil2.send(record(junk(32)))
        answer = evil2.read_record()
        self.assertEqual(len(answer), 32 + 48 + 41 + TAG_LEN,
                         "message 2 is e, encrypted s, encrypted HELLO")
        evil2.send(record(junk(rnd.randrange(1, 200))))
        self.expect_misbehaving(a, evil2, "handshake_invalid", note="seed %d: " % seed)
        # Entirely random bytes, the lengths too: whatever they look like,
        # the node objects and closes.
        evil3 = self.raw(a.port)
        evil3.send(junk(300))
        ev3 = a.wait_for("misbehaving", lambda e: e["address"] == evil3.local_address,
                         timeout=6)
        self.assertIn(ev3["kind"], ("oversize", "handshake_invalid", "handshake_timeout"),
                      "seed %d: %s" % (seed, _short(ev3)))
        self.assertTrue(evil3.wait_closed(timeout=5))
        b = self.node(name="B")
        self.connect(b, a)
        self.exchange(a, b)
        a.drain()
        self.assertEqual([e["event"] for e in a.seen].count("new_peer"), 1, a._report())
        self.assert_no_event(a, "peer_lost")

    def test_plaintext_protocol_version_1_is_refused(self):
        # A version 1 peer's HELLO frame (u32 length, type 0x01, version 1,
        # id, session) starts with 00 00: an empty record, no message 1.
        a = self.node(name="A")
        v1 = self.raw(a.port)
        body = bytes([1]) + os.urandom(32) + struct.pack(">Q", 1)
        v1.send(struct.pack(">IB", len(body) + 1, T_HELLO_V1) + body)
        self.expect_misbehaving(a, v1, "handshake_invalid")
        # Nor does a plaintext DATA frame get anywhere.
        data = self.raw(a.port)
        data.send(struct.pack(">IB", 8, T_DATA) + b"\x03sneaky")
        self.expect_misbehaving(a, data, "handshake_invalid")
        self.assert_no_event(a, "message")
        self.assert_no_peers(a)

    def test_message_1_with_a_payload_is_refused(self):
        a = self.node(name="A")
        r = self.raw(a.port)
        r.start_noise(Identity())
        r.write_handshake(b"hello in the clear")
        self.expect_misbehaving(a, r, "handshake_invalid")  # and no message 2

    def test_handshake_timeout_raises_misbehaving(self):
        a = self.node("--crust.handshake-timeout=1s", name="A")
        # One says nothing at all; one sends message 1 and then nothing.
        mute = self.raw(a.port)
        half = self.raw(a.port)
        half.start_noise(Identity())
        half.write_handshake(b"")
        half.read_handshake()  # the node's message 2
        for r in (mute, half):
            self.expect_misbehaving(a, r, "handshake_timeout")
        self.assert_no_event(a, "new_peer")

    def test_data_before_select_is_a_protocol_violation(self):
        a = self.node(name="A")
        # The raw peer leads; instead of SELECT it sends DATA.
        r = self.raw(a.port)
        leader = Identity.ordered(a.id, lower=True)
        r.noise_handshake(a.id, leader, 1)
        r.send_message("sneaky")
        self.expect_misbehaving(a, r, "protocol_violation")
        self.assert_no_event(a, "message")
        self.assert_no_event(a, "new_peer")
        self.assert_no_peers(a)

    def test_bad_frames_after_the_handshake_are_protocol_violations(self):
        a = self.node(name="A")
        cases = [
            ("version 1 HELLO type", True, (T_HELLO_V1, os.urandom(32) + bytes(8))),
            ("unknown type 0x0d", None, (0x0D, b"")),
            ("FORWARD without a payload", None, (T_FORWARD, os.urandom(32))),
            ("FORWARD_FAILED with an unknown reason", None,
             (T_FORWARD_FAILED, os.urandom(32) + b"\x09")),
            ("empty BATCH", None, (T_BATCH, b"")),
            ("BATCH item cut short", None, (T_BATCH, b"\x00\x09" + bytes([F_LAST | F_NORMAL]) + b"ab")),
            ("unknown type 0xff", None, (0xFF, b"junk")),
            ("reserved DATA flag", None, (T_DATA, bytes([F_LAST | F_NORMAL | 0x04]) + b"x")),
            ("DATA without flags", None, (T_DATA, b"")),
            ("SELECT from the follower", False, (T_SELECT, b"")),
            ("empty frame", None, None),
        ]
        for what, lower, frm in cases:
            with self.subTest(what):
                r = self.raw_peer(a, lower=lower)
                if frm is None:
                    r.send(record(r.tx.encrypt_with_ad(b"", b"")))
                else:
                    r.send_frame(*frm)
                self.expect_misbehaving(a, r, "protocol_violation")
                a.wait_for("peer_lost", lambda e: e["peer_id"] == r.identity.hex)
        self.assert_no_event(a, "message")
        self.assert_no_peers(a)

    def test_flipped_bit_is_a_decrypt_failure_and_node_keeps_serving(self):
        a = self.node(name="A")
        rnd = random.Random()
        seed = rnd.randrange(1 << 30)
        rnd.seed(seed)
        evil = self.raw_peer(a)
        evil.send_message("intact")
        self.assertEqual(a.wait_for("message").get("text"), "intact")
        rec = bytearray(evil.data_record("tampered"))
        pos = rnd.randrange(2, len(rec))  # anywhere past the length
        rec[pos] ^= 1 << rnd.randrange(8)
        evil.send(bytes(rec))
        self.expect_misbehaving(a, evil, "decrypt_failure",
                                note="seed %d, bit flipped in byte %d: " % (seed, pos))
        a.wait_for("peer_lost", lambda e: e["peer_id"] == evil.identity.hex)
        self.assert_no_event(a, "message", lambda e: e.get("text") != "intact")
        # Others are served as before: a raw peer and a real node.
        good = self.raw_peer(a)
        good.send_message("still here")
        got = a.wait_for("message", lambda e: e["peer_id"] == good.identity.hex)
        self.assertEqual(got.get("text"), "still here")
        b = self.node(name="B")
        self.connect(b, a)
        self.exchange(a, b)

    def test_replayed_or_reordered_record_is_a_decrypt_failure(self):
        a = self.node(name="A")
        with self.subTest("replay"):
            r = self.raw_peer(a)
            rec = r.data_record("only once")
            r.send(rec)
            self.assertEqual(a.wait_for("message").get("text"), "only once")
            r.send(rec)
            self.expect_misbehaving(a, r, "decrypt_failure")
            a.wait_for("peer_lost", lambda e: e["peer_id"] == r.identity.hex)
            a.drain()
            texts = [e.get("text") for e in a.seen if e["event"] == "message"]
            self.assertEqual(texts, ["only once"], a._report())
        with self.subTest("reorder"):
            r = self.raw_peer(a)
            first, second = r.data_record("first"), r.data_record("second")
            r.send(second + first)
            self.expect_misbehaving(a, r, "decrypt_failure")
            a.drain()
            self.assertFalse([e for e in a.seen if e["event"] == "message"
                              and e["peer_id"] == r.identity.hex], a._report())
        self.assert_no_peers(a)

    def test_claimed_id_must_match_the_static_key(self):
        a = self.node(name="A")
        someone = Identity()
        cases = [
            ("another peer's id", someone.id),
            ("random bytes", os.urandom(32)),
        ]
        for what, claim in cases:
            with self.subTest(what):
                liar = Identity()
                r = self.raw(a.port)
                r.noise_handshake(a.id, liar, 1, claim=claim)
                self.expect_misbehaving(a, r, "handshake_invalid")
        for what, size, flags in (("short HELLO", 40, 0), ("long HELLO", 42, 0),
                                  ("empty HELLO", 0, 0), ("unknown flag", 41, 0x02)):
            with self.subTest(what):
                me = Identity()
                r = self.raw(a.port)
                r.start_noise(me)
                r.write_handshake(b"")
                r.check_hello(r.read_handshake(), a.id)
                r.write_handshake((me.id + struct.pack(">QB", 1, flags) + b"\0")[:size])
                self.expect_misbehaving(a, r, "handshake_invalid")
        self.assert_no_event(a, "new_peer")
        self.assert_no_peers(a)

    def test_dialled_peer_must_prove_its_id(self):
        a = self.node(name="A")
        listener = self.raw_listener()
        a.send_line("connect " + listener.endpoint)
        r = listener.accept()
        # Message 2 claims an id whose key is not the static key used.
        r.respond(a.id, Identity(), claim=Identity().id)
        ev = a.wait_for("misbehaving", timeout=5)
        self.assertEqual(ev["kind"], "handshake_invalid", _short(ev))
        self.assertEqual(ev["address"], "127.0.0.1:%d" % listener.sock.getsockname()[1],
                         _short(ev))
        self.assertTrue(r.wait_closed(timeout=5), "the node kept the connection open")
        self.assertEqual(r.buf, b"", "the node talked on after message 2 did not verify")
        self.assertNotIn("peer_id", ev, "an unproven peer id: " + _short(ev))
        failed = a.wait_for("connection_failed")
        self.assertEqual(failed["target"], listener.endpoint, _short(failed))
        self.assert_no_event(a, "new_peer")
        self.assert_no_peers(a)

    def test_different_network_names_do_not_connect(self):
        a = self.node("--crust.network-name=alpha", name="A")
        b = self.node("--crust.network-name=beta", name="B")
        b.send_line("connect " + a.endpoint)
        n, ev = self.wait_any([
            (b, "connection_failed", lambda e: e["target"] == a.endpoint),
            (a, "misbehaving", lambda e: e["kind"] == "handshake_invalid"),
        ])
        for x in (a, b):
            self.assert_no_peers(x)
            self.assert_no_event(x, "new_peer")
        # The same network name connects (control), also from a raw peer
        # whose prologue says "alpha"; a raw peer of the default network
        # cannot even read A's message 2.
        c = self.node("--crust.network-name=alpha", name="C")
        self.connect(c, a)
        self.exchange(a, c)
        alpha = self.raw(a.port)
        alpha.handshake(a.id, Identity(), network="alpha")
        default = self.raw(a.port)
        default.start_noise(Identity())
        default.write_handshake(b"")
        with self.assertRaisesRegex(AssertionError, "does not verify"):
            default.read_handshake()
        self.assert_no_event(a, "new_peer", lambda e: e["peer_id"] == b.id)
        self.assert_no_event(b, "new_peer")


if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
"""Messages between nodes: binary text, messages larger than a frame,
10 MB in order, and (slow, opt-in) the rekey after 2^20 records.

Run alone:  /usr/bin/python3 tests/blackbox/test_message_transfer.py [PATH/TO/crust-node]
"""

import base64
import os
import struct
import sys
import time
import unittest

import harness
from harness import _short, payload
from harness_case import NodeTestCase
from harness_wire import T_PING


class MessageTransferTest(NodeTestCase):
    """Message contents and sizes, end to end."""

    def test_non_utf8_message_arrives_as_base64(self):
        a = self.node(name="A")
        b = self.node(name="B")
        self.connect(b, a)
        raw_bytes = b"\xff\xfe\x00binary\xc3"
        b.proc.stdin.write(b"send " + a.id.encode() + b" " + raw_bytes + b"\n")
        b.proc.stdin.flush()
        b.wait_for("sent", lambda e: e["bytes"] == len(raw_bytes))
        ev = a.wait_for("message", lambda e: e["peer_id"] == b.id)
        self.assertNotIn("text", ev, _short(ev))
        self.assertEqual(base64.b64decode(ev["base64"]), raw_bytes)

    def test_message_larger_than_a_frame_is_reassembled(self):
        a = self.node(name="A")
        b = self.node(name="B")
        self.connect(b, a)
        big = payload(7, 300 * 1024)  # many 16 KB chunks, far above a 64 KB frame
        b.send_line("send %s %s" % (a.id, big))
        b.wait_for("sent", lambda e: e["bytes"] == len(big))
        got = a.wait_for("message", lambda e: e["peer_id"] == b.id)
        self.assertEqual(len(got.get("text", "")), len(big))
        self.assertTrue(got["text"] == big, "the reassembled message differs")

    # 13
    def test_ten_megabytes_in_order(self):
        a = self.node(name="A")
        b = self.node(name="B")
        self.connect(b, a)
        count, size = 1000, 10 * 1024
        received = []
        i = 0
        retries = 0
        started = time.monotonic()
        while i < count:
            text = payload(i, size)
            b.send_line("send %s %s" % (a.id, text))
            ev = b.wait_for(("sent", "error"))
            if ev["event"] == "error":
                self.assertIn("send_queue_full", ev["message"], _short(ev))
                retries += 1
                self.assertLess(retries, 10000, "send queue never drains")
                # Let A consume something before trying again.
                received.append(a.wait_for("message", lambda e: e["peer_id"] == b.id))
                continue
            self.assertEqual(ev["peer_id"], a.id)
            self.assertEqual(ev["bytes"], size)
            i += 1
        while len(received) < count:
            received.append(a.wait_for("message", lambda e: e["peer_id"] == b.id,
                                       timeout=20))
        for n, ev in enumerate(received):
            text = ev.get("text")
            if text != payload(n, size):
                self.fail("message %d: expected sequence %06d (%d bytes), got %r... (%s bytes)"
                          % (n, n, size, (text or "")[:20], len(text or "")))
        elapsed = time.monotonic() - started
        sys.stderr.write("[10 MB in %.2fs, %d retries] " % (elapsed, retries))

    def test_a_batch_of_small_messages_arrives_as_separate_messages(self):
        # BATCH (docs/PROTOCOL.md), sealed by this harness, not by crust.
        a = self.node(name="A")
        r = self.raw_peer(a)
        texts = ["first", "second", "x" * 300, "fourth"]
        r.send(r.batch_record(texts))
        for t in texts:
            got = a.wait_for("message", lambda e: e["peer_id"] == r.identity.hex)
            self.assertEqual(got.get("text"), t, _short(got))

    @unittest.skipUnless(os.environ.get("CRUST_BLACKBOX_SLOW"),
                         "slow (about 10 s): set CRUST_BLACKBOX_SLOW=1")
    def test_rekey_after_2_pow_20_records(self):
        # docs/PROTOCOL.md: after every 2^20 records in a direction, Noise
        # REKEY (k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros), the
        # nonce keeps counting). dissononce's CipherState.rekey() cannot be
        # used: its ChaChaPoly rekey returns 48 bytes, and it resets the
        # nonce. Sealed here with one AEAD object: dissononce builds one
        # per record, which is too slow for a million records.
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

        def nonce(n):
            return b"\0\0\0\0" + struct.pack("<Q", n)

        a = self.node(name="A")
        r = self.raw_peer(a)
        key, first = r.tx._key, r.tx._nonce  # dissononce internals, read only
        aead = ChaCha20Poly1305(key)
        limit = 1 << 20
        batch = []
        for n in range(first, limit - 1):
            c = aead.encrypt(nonce(n), bytes([T_PING]), b"")
            batch.append(struct.pack(">H", len(c)) + c)
            if len(batch) == 8192:
                r.send(b"".join(batch))
                batch = []
        c = aead.encrypt(nonce(limit - 1), b"\x03\x03last before rekey", b"")
        batch.append(struct.pack(">H", len(c)) + c)
        r.send(b"".join(batch))
        got = a.wait_for(("message", "misbehaving"), timeout=60)
        self.assertEqual(got.get("text"), "last before rekey", _short(got))
        new_key = aead.encrypt(nonce((1 << 64) - 1), bytes(32), b"")[:32]
        c = ChaCha20Poly1305(new_key).encrypt(nonce(limit), b"\x03\x03first after rekey", b"")
        r.send(struct.pack(">H", len(c)) + c)
        got = a.wait_for(("message", "misbehaving"), timeout=10)
        self.assertEqual(got.get("text"), "first after rekey", _short(got))


if __name__ == "__main__":
    harness.main()

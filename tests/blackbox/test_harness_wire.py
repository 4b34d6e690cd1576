#!/usr/bin/env python3
"""The tests' own protocol code (harness_wire), without crust-node.

Run alone:  /usr/bin/python3 tests/blackbox/test_harness_wire.py [PATH/TO/crust-node]
"""

import harness  # first: it checks for dissononce and nacl

import socket
import struct
import threading
import unittest

from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

from harness_wire import (PROTOCOL_VERSION, T_DATA, T_SELECT, Identity, RawListener, RawPeer,
                          x25519_of)


class RawPeerSelfTest(unittest.TestCase):
    """RawPeer against a responder written straight from the protocol text
    with dissononce (no crust-node involved): a broken helper fails here and
    is not mistaken for a broken node."""

    def test_raw_peer_handshake_and_frames_follow_the_spec(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)
        node = Identity()              # plays the node (responder)
        raw = Identity.ordered(node.hex, lower=True)  # leads: sends SELECT
        got = {}

        def recv_exact(sock, n):
            data = b""
            while len(data) < n:
                chunk = sock.recv(n - len(data))
                if not chunk:
                    raise EOFError("closed")
                data += chunk
            return data

        def recv_record(sock):
            return recv_exact(sock, struct.unpack(">H", recv_exact(sock, 2))[0])

        def responder():
            try:
                conn, _ = listener.accept()
                conn.settimeout(5)
                got["conn"] = conn
                hs = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()),
                                                   Blake2bHash()), X25519DH())
                hs.initialize(XXHandshakePattern(), False,
                              bytes([*b"crust", PROTOCOL_VERSION]) + "crust".encode("utf-8"), s=node.noise)
                payload = bytearray()
                hs.read_message(recv_record(conn), payload)
                got["m1"] = bytes(payload)
                m2 = bytearray()
                hs.write_message(node.id + struct.pack(">QB", 77, 0), m2)
                conn.sendall(struct.pack(">H", len(m2)) + m2)
                payload = bytearray()
                c1, c2 = hs.read_message(recv_record(conn), payload)
                got["m3"] = bytes(payload)
                got["rs"] = hs.rs.data
                send, receive = c2, c1  # the responder's pair
                got["select"] = receive.decrypt_with_ad(b"", recv_record(conn))
                got["data"] = receive.decrypt_with_ad(b"", recv_record(conn))
                reply = send.encrypt_with_ad(b"", b"\x03\x03pong")
                conn.sendall(struct.pack(">H", len(reply)) + reply)
            except BaseException as e:  # reported by the main thread
                got["error"] = repr(e)

        t = threading.Thread(target=responder, daemon=True)
        t.start()
        peer = RawPeer(listener.getsockname()[1])
        self.addCleanup(peer.close)
        peer.handshake(node.hex, raw, session=5)
        peer.send_message("ping")
        self.assertEqual(peer.read_frame_skipping_pings(), (T_DATA, b"\x03pong"))
        t.join(timeout=5)
        self.assertNotIn("error", got, got.get("error"))
        if "conn" in got:
            self.addCleanup(got["conn"].close)
        self.assertEqual(got["m1"], b"")
        self.assertEqual(got["m3"], raw.id + struct.pack(">QB", 5, 0))
        self.assertEqual(got["rs"], x25519_of(raw.id))
        self.assertEqual(got["select"], bytes([T_SELECT]))
        self.assertEqual(got["data"], b"\x03\x03ping")
        self.assertEqual(peer.remote, (node.id, 77))

    def test_raw_listener_answers_a_raw_peer(self):
        listener = RawListener()
        self.addCleanup(listener.close)
        a, b = Identity(), Identity()
        got = {}

        def responder():
            try:
                r = listener.accept()
                r.respond(a.hex, b, session=9)
                got["msg"] = r.read_frame_skipping_pings()
                r.send_message("pong")
                got["remote"] = r.remote
            except BaseException as e:
                got["error"] = repr(e)

        t = threading.Thread(target=responder, daemon=True)
        t.start()
        peer = RawPeer(int(listener.endpoint.rsplit(":", 1)[1]))
        self.addCleanup(peer.close)
        peer.handshake(b.hex, a, session=8)
        peer.send_message("ping")
        self.assertEqual(peer.read_frame_skipping_pings(), (T_DATA, b"\x03pong"))
        t.join(timeout=5)
        self.assertNotIn("error", got, got.get("error"))
        self.assertEqual(got["msg"], (T_DATA, b"\x03ping"))
        self.assertEqual(got["remote"], (a.id, 8))
        self.assertEqual(peer.remote, (b.id, 9))


if __name__ == "__main__":
    harness.main()

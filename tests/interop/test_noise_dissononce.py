#!/usr/bin/env python3
"""crust's Noise XX against an independent implementation, dissononce.

Runs crust's handshake (the noise_peer test program, built from
transports/noise/handshake) over a real TCP socket on 127.0.0.1 with
python3-dissononce as the other side, once in each role: both sides must
agree on the handshake hash and on each other's static keys, carry the
handshake payloads, and exchange transport messages both ways.

    /usr/bin/python3 test_noise_dissononce.py PATH/TO/noise_peer
"""
import os
import socket
import struct
import subprocess
import sys
import unittest

from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

PEER = None
PROLOGUE = b"crust/1 interop"
TIMEOUT = 10


def send_msg(sock, data):
    sock.sendall(struct.pack(">H", len(data)) + bytes(data))


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed")
        buf += chunk
    return buf


def recv_msg(sock):
    (n,) = struct.unpack(">H", recv_exact(sock, 2))
    return recv_exact(sock, n)


class Peer:
    """The crust side: a noise_peer process and its stdout lines."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([PEER, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.payloads = []  # handshake payloads crust received

    def expect(self, key):
        while True:
            line = self.proc.stdout.readline().strip()
            if line.startswith("payload "):
                self.payloads.append(line[len("payload "):])
                continue
            if line.startswith(key + " "):
                return line[len(key) + 1:]
            self.proc.kill()  # so that reading its stderr cannot block
            raise AssertionError("crust peer said %r, expected %r (stderr: %s)"
                                 % (line, key, self.proc.stderr.read()))

    def finish(self):
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.stdout.close()
            self.proc.stderr.close()


def dissononce_side(initiator):
    dh = X25519DH()
    keys = dh.generate_keypair()
    hs = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()),
                                       Blake2bHash()), dh)
    hs.initialize(XXHandshakePattern(), initiator, PROLOGUE, s=keys)
    return hs, keys


def run_handshake(sock, hs, initiator):
    """Runs XX to the end; returns (send cipher, receive cipher, payloads)."""
    payloads = []
    result = None
    for i in range(3):
        ours = (i % 2 == 0) == initiator
        if ours:
            buf = bytearray()
            result = hs.write_message(b"from dissononce", buf)
            send_msg(sock, buf)
        else:
            payload = bytearray()
            result = hs.read_message(recv_msg(sock), payload)
            payloads.append(bytes(payload))
    c1, c2 = result
    return (c1, c2, payloads) if initiator else (c2, c1, payloads)


class NoiseInterop(unittest.TestCase):
    def check_session(self, sock, peer, hs, keys, initiator, tx, rx, payloads):
        crust_remote = peer.expect("remote")
        crust_hash = peer.expect("hash")
        self.assertEqual(crust_hash,
                         hs.symmetricstate.get_handshake_hash().hex(),
                         "handshake hashes differ")
        self.assertEqual(crust_remote, keys.public.data.hex(),
                         "crust saw another static key than dissononce's")
        self.assertEqual(hs.rs.data.hex(), self.crust_static,
                         "dissononce saw another static key than crust's")
        expected = "from crust " + ("responder" if initiator else "initiator")
        self.assertIn(expected.encode(), payloads)
        self.assertIn("from dissononce", peer.payloads)
        # crust speaks first after the handshake...
        self.assertEqual(rx.decrypt_with_ad(b"", recv_msg(sock)),
                         b"hello from crust")
        # ...then echoes what dissononce sends, in order.
        for i in range(20):
            text = ("message %d from dissononce " % i).encode() * (i + 1)
            send_msg(sock, tx.encrypt_with_ad(b"", text))
            self.assertEqual(rx.decrypt_with_ad(b"", recv_msg(sock)),
                             b"echo:" + text)

    def test_dissononce_initiator_crust_responder(self):
        peer = Peer("responder", PROLOGUE.hex())
        port = int(peer.expect("port"))
        self.crust_static = peer.expect("static")
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        hs, keys = dissononce_side(True)
        tx, rx, payloads = run_handshake(sock, hs, True)
        self.check_session(sock, peer, hs, keys, True, tx, rx, payloads)
        sock.close()
        self.assertEqual(peer.finish(), 0)

    def test_crust_initiator_dissononce_responder(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(TIMEOUT)
        peer = Peer("initiator", str(srv.getsockname()[1]), PROLOGUE.hex())
        self.crust_static = peer.expect("static")
        sock, _ = srv.accept()
        sock.settimeout(TIMEOUT)
        srv.close()
        hs, keys = dissononce_side(False)
        tx, rx, payloads = run_handshake(sock, hs, False)
        self.check_session(sock, peer, hs, keys, False, tx, rx, payloads)
        sock.close()
        self.assertEqual(peer.finish(), 0)

    def test_different_prologues_do_not_connect(self):
        peer = Peer("responder", b"crust/1 other network".hex())
        port = int(peer.expect("port"))
        peer.expect("static")
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        hs, _ = dissononce_side(True)
        with self.assertRaises(Exception):
            run_handshake(sock, hs, True)
        sock.close()
        self.assertNotEqual(peer.finish(), 0)


if __name__ == "__main__":
    if len(sys.argv) < 2 and "NOISE_PEER" not in os.environ:
        print("usage: test_noise_dissononce.py PATH/TO/noise_peer", file=sys.stderr)
        sys.exit(2)
    PEER = sys.argv.pop(1) if len(sys.argv) > 1 else os.environ["NOISE_PEER"]
    unittest.main(verbosity=2)

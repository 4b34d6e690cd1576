"""Crust's wire protocol 3 spoken (or abused) by hand: Identity, RawPeer,
RawListener.

u16-length records, a Noise XX handshake (dissononce) whose messages 2 and 3
carry HELLO (peer id + session), then ChaChaPoly-sealed frames. Peer ids are
Ed25519 public keys (PyNaCl). See transports/wire.hpp, docs/PROTOCOL.md.
"""

import harness  # noqa: F401  (first: it checks for dissononce and nacl)

import os
import random
import socket
import struct
import time

import nacl.bindings
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.exceptions.decrypt import DecryptFailedException
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

# Wire protocol version 5 (see transports/wire.hpp, docs/PROTOCOL.md).
PROTOCOL_VERSION = 9
DEFAULT_NETWORK = "crust"
T_HELLO_V1 = 1  # version 1's HELLO frame; no longer a frame type
T_SELECT, T_DATA, T_PING, T_CLOSE = 2, 3, 4, 5
T_PEERS_REQUEST, T_PEERS = 6, 7  # peer exchange: a raw peer may ignore them
T_OBSERVED = 8  # where the node sees us: a raw peer may ignore it
T_BATCH = 9  # several DATA bodies, each behind a u16 length
T_FORWARD, T_FORWARDED, T_FORWARD_FAILED = 10, 11, 12  # hole-punching signals
F_LAST, F_NORMAL = 0x01, 0x02
TAG_LEN = 16  # ChaChaPoly tag in every sealed record
CLOSE_SUPERSEDED = 6


def prologue(network=DEFAULT_NETWORK):
    return b"crust" + bytes([PROTOCOL_VERSION]) + network.encode("utf-8")


def x25519_of(ed25519_public):
    """The X25519 key derived from an Ed25519 public key (a peer id)."""
    return nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(bytes(ed25519_public))


def hello_payload(peer_id, session, flags=0):
    return bytes(peer_id) + struct.pack(">QB", session, flags)


def record(body):
    assert len(body) <= 0xFFFF, len(body)
    return struct.pack(">H", len(body)) + bytes(body)


class Identity:
    """An Ed25519 key pair (the public key is the peer id) and the X25519
    key pair derived from it, which is the Noise static key."""

    def __init__(self, seed=None):
        self.seed = seed if seed is not None else os.urandom(32)
        pk, sk = nacl.bindings.crypto_sign_seed_keypair(self.seed)
        self.id = pk
        xsk = nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(sk)
        self.noise = X25519DH().generate_keypair(PrivateKey(xsk))
        assert self.noise.public.data == x25519_of(pk)

    @property
    def hex(self):
        return self.id.hex()

    @classmethod
    def ordered(cls, other_hex, lower):
        """A fresh identity whose id is below (`lower`) or above `other_hex`."""
        other = bytes.fromhex(other_hex)
        while True:
            me = cls()
            if me.id != other and (me.id < other) == lower:
                return me


def new_handshake(initiator, identity, network=DEFAULT_NETWORK):
    dh = X25519DH()
    hs = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), Blake2bHash()), dh)
    hs.initialize(XXHandshakePattern(), initiator, prologue(network), s=identity.noise)
    return hs


class RawPeer:
    """A TCP connection that speaks (or abuses) crust's wire protocol 3:
    u16-length records, a Noise XX handshake whose messages 2 and 3 carry
    HELLO (peer id + session), then ChaChaPoly-sealed frames (type + body).

    The high-level `handshake`/`respond` do everything a well-behaved peer
    does; the steps they are made of are there for tests that misbehave
    half-way. A connection made by `RawPeer(port)` is the initiator; one
    accepted by `RawListener` is the responder.
    """

    def __init__(self, port=None, timeout=5, sock=None):
        self.sock = sock if sock is not None else \
            socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.closed = False
        self.hs = None
        self.tx = self.rx = None   # CipherStates once the handshake is done
        self.remote = None         # (peer id bytes, session) the node proved
        self.identity = None
        self.initiator = None
        self.session = None

    @property
    def local_address(self):
        host, port = self.sock.getsockname()[:2]
        return "%s:%d" % (host, port)

    @property
    def established(self):
        return self.tx is not None

    # -- bytes and records ------------------------------------------------------

    def send(self, data):
        self.sock.sendall(data)

    def send_record(self, body):
        self.send(record(body))

    def _recv_some(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
        return data

    def _take_record(self):
        if len(self.buf) >= 2:
            length = struct.unpack(">H", self.buf[:2])[0]
            if len(self.buf) >= 2 + length:
                body, self.buf = self.buf[2:2 + length], self.buf[2 + length:]
                return body
        return None

    def read_record(self, timeout=5):
        """The body of the next record the node sends."""
        deadline = time.monotonic() + timeout
        while True:
            body = self._take_record()
            if body is not None:
                return body
            if self.closed:
                raise AssertionError("raw peer: connection closed while waiting "
                                     "for a record (buffered %r)" % self.buf[:64])
            try:
                self.buf += self._recv_some(deadline)
            except socket.timeout:
                raise AssertionError("raw peer: no complete record within %gs "
                                     "(buffered %r)" % (timeout, self.buf[:64]))

    # -- the handshake, step by step ---------------------------------------------

    def start_noise(self, identity, network=DEFAULT_NETWORK, initiator=True):
        self.identity = identity
        self.initiator = initiator
        self.hs = new_handshake(initiator, identity, network)

    def write_handshake(self, payload):
        """Writes the next handshake message; returns its record (sent)."""
        buf = bytearray()
        result = self.hs.write_message(payload, buf)
        self.send_record(buf)
        if result is not None:
            self._split(result)
        return bytes(buf)

    def read_handshake(self, timeout=5):
        """Reads the next handshake message; returns its payload."""
        msg = self.read_record(timeout)
        payload = bytearray()
        try:
            result = self.hs.read_message(msg, payload)
        except DecryptFailedException as e:
            raise AssertionError("raw peer: the node's handshake message does not "
                                 "verify (%s)" % e)
        if result is not None:
            self._split(result)
        return bytes(payload)

    def _split(self, result):
        c1, c2 = result
        self.tx, self.rx = (c1, c2) if self.initiator else (c2, c1)

    def check_hello(self, payload, node_id_hex):
        """Checks the node's HELLO: its size, the id it claims, and that its
        Noise static key is the one derived from that id."""
        assert len(payload) == 41, "HELLO payload of %d bytes: %r" % (len(payload), payload)
        peer_id, (session, flags) = payload[:32], struct.unpack(">QB", payload[32:])
        assert flags & ~0x01 == 0, "HELLO with unknown flags %#x" % flags
        self.remote_flags = flags
        assert peer_id.hex() == node_id_hex, \
            "HELLO carries %s, the node listens as %s" % (peer_id.hex(), node_id_hex)
        assert self.hs.rs.data == x25519_of(peer_id), \
            "the node's static key %s is not derived from its id %s" % (
                self.hs.rs.data.hex(), peer_id.hex())
        self.remote = (peer_id, session)

    def noise_handshake(self, node_id_hex, identity, session, network=DEFAULT_NETWORK,
                        claim=None, timeout=5):
        """Initiator: XX with HELLO(claim or our id, session) in message 3."""
        self.session = session
        self.start_noise(identity, network, initiator=True)
        self.write_handshake(b"")
        self.check_hello(self.read_handshake(timeout), node_id_hex)
        self.write_handshake(hello_payload(claim or identity.id, session))

    def select(self, timeout=5):
        """The lower id sends SELECT; the other waits for it."""
        if self.identity.id < self.remote[0]:
            self.send_frame(T_SELECT)
        else:
            ftype, body = self.read_frame_skipping_pings(timeout)
            assert (ftype, body) == (T_SELECT, b""), \
                "expected SELECT from the leading node, got type %d %r" % (ftype, body[:40])

    def handshake(self, node_id_hex, identity, session=None, network=DEFAULT_NETWORK,
                  timeout=5):
        """Noise XX as the initiator, then SELECT from whichever id is lower."""
        self.noise_handshake(node_id_hex, identity,
                             random.getrandbits(64) if session is None else session,
                             network, timeout=timeout)
        self.select(timeout)

    def respond(self, node_id_hex, identity, session=None, network=DEFAULT_NETWORK,
                claim=None, timeout=5, select=True):
        """Noise XX as the responder (the node dialled us)."""
        self.session = random.getrandbits(64) if session is None else session
        self.start_noise(identity, network, initiator=False)
        first = self.read_handshake(timeout)
        assert first == b"", "message 1 carries a payload: %r" % first[:40]
        self.write_handshake(hello_payload(claim or identity.id, self.session))
        if claim is not None:
            return
        self.check_hello(self.read_handshake(timeout), node_id_hex)
        if select:
            self.select(timeout)

    # -- frames --------------------------------------------------------------------

    def seal(self, ftype, body=b""):
        """One frame sealed into a record (length prefix included); advances
        the send nonce whether or not the record is ever sent."""
        assert self.established, "no frames before the handshake"
        return record(self.tx.encrypt_with_ad(b"", bytes([ftype]) + bytes(body)))

    def send_frame(self, ftype, body=b""):
        self.send(self.seal(ftype, body))

    def data_record(self, chunk, flags=F_LAST | F_NORMAL):
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        return self.seal(T_DATA, bytes([flags]) + chunk)

    def batch_record(self, texts, flags=F_LAST | F_NORMAL):
        """Whole short messages in one BATCH frame."""
        body = b""
        for t in texts:
            item = bytes([flags]) + (t.encode("utf-8") if isinstance(t, str) else t)
            body += struct.pack(">H", len(item)) + item
        return self.seal(T_BATCH, body)

    def send_message(self, text):
        """A whole (short) message: one DATA frame with LAST set."""
        self.send(self.data_record(text))

    def _open(self, rec):
        try:
            plain = self.rx.decrypt_with_ad(b"", rec)
        except DecryptFailedException:
            raise AssertionError("raw peer: a record from the node failed "
                                 "authentication (%d bytes)" % len(rec))
        assert plain, "the node sent an empty frame"
        return plain[0], plain[1:]

    def read_frame(self, timeout=5):
        """Returns (type, body) of the next frame the node sends."""
        return self._open(self.read_record(timeout))

    def read_frame_skipping_pings(self, timeout=5):
        """The next frame that is not a PING, a PEERS_REQUEST (which a kept
        peer gets once, and may leave unanswered) or an OBSERVED."""
        deadline = time.monotonic() + timeout
        while True:
            ftype, body = self.read_frame(max(0.01, deadline - time.monotonic()))
            if ftype not in (T_PING, T_PEERS_REQUEST, T_OBSERVED):
                return ftype, body

    def wait_closed(self, timeout=5):
        """True when the node closes the connection within `timeout`. What
        it sent meanwhile stays buffered (see `frames_left`)."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            try:
                self.buf += self._recv_some(deadline)
            except socket.timeout:
                return False
            except OSError:
                return True
        return True

    def frames_left(self):
        """The buffered frames, decrypted (after `wait_closed`)."""
        frames = []
        while True:
            rec = self._take_record()
            if rec is None:
                return frames
            frames.append(self._open(rec))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RawListener:
    """A listening socket on 127.0.0.1 for a node to dial."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.accepted = []

    @property
    def endpoint(self):
        return "tcp://127.0.0.1:%d" % self.sock.getsockname()[1]

    def accept(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            conn, _ = self.sock.accept()
        except socket.timeout:
            raise AssertionError("raw listener: nobody connected within %gs" % timeout)
        peer = RawPeer(sock=conn)
        self.accepted.append(peer)
        return peer

    def close(self):
        for p in self.accepted:
            p.close()
        self.sock.close()

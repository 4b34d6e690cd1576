#!/usr/bin/env python3
"""A peer on a node's UDP socket that does the Noise handshake and then
pours authenticated DATA with no SCTP and no congestion control: the node
drops what is over its limit before decrypting, reports the peer (its
proven id) as a flood, keeps its memory, and still serves an honest peer.

Run alone:  /usr/bin/python3 tests/blackbox/test_rudp_flood.py [PATH/TO/crust-node]
"""

import random
import socket
import struct
import sys
import time

import harness
from harness import _short
from harness_case import NodeTestCase, assert_rss_below, rss_kib
from harness_wire import Identity, hello_payload, new_handshake

INIT, RESPONSE, FINAL, DATA = 0xC1, 0xC2, 0xC3, 0xC5
INIT_SIZE = 152  # docs/PROTOCOL.md, "Datagrams"


class RawUdpPeer:
    """The initiator's half of the datagram handshake by hand, then DATA
    sealed with the counter as nonce and the header as associated data."""

    def __init__(self, port, identity=None):
        self.identity = identity or Identity()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.to = ("127.0.0.1", port)
        self.index = random.getrandbits(32)
        self.counter = 0

    @property
    def address(self):
        return "%s:%d" % self.sock.getsockname()

    def handshake(self, node_id_hex):
        hs = new_handshake(True, self.identity)
        m1 = bytearray()
        hs.write_message(b"", m1)
        init = struct.pack(">BI", INIT, self.index) + bytes(m1) + b"\0" * 17
        self.sock.sendto(init + b"\0" * (INIT_SIZE - len(init)), self.to)
        reply = self.sock.recv(2048)
        assert reply[0] == RESPONSE, "expected RESPONSE, got type %#x" % reply[0]
        self.remote, mine = struct.unpack(">II", reply[1:9])
        assert mine == self.index, "RESPONSE for another session"
        hello = bytearray()
        hs.read_message(reply[9:], hello)
        assert bytes(hello[:32]).hex() == node_id_hex, "the node's HELLO names another id"
        m3 = bytearray()
        self.tx, _ = hs.write_message(hello_payload(self.identity.id, 7), m3)
        self.sock.sendto(struct.pack(">BI", FINAL, self.remote) + bytes(m3), self.to)

    def data(self, size):
        header = struct.pack(">BIQ", DATA, self.remote, self.counter)
        self.tx.set_nonce(self.counter)
        self.counter += 1
        return header + self.tx.encrypt_with_ad(header, b"\xf1" * size)


class RudpFloodTest(NodeTestCase):

    def reported(self, node, peer):
        node.drain()
        return any(e.get("event") == "misbehaving" and e.get("address") == peer.address
                   for e in node.pending)

    def test_a_peer_that_ignores_congestion_control_is_a_flood(self):
        a = self.node("--crust.max-bytes-per-sec=65536", "--crust.flood-timeout=1s",
                      name="A")
        before = rss_kib(a)
        peer = RawUdpPeer(a.port)
        self.addCleanup(peer.sock.close)
        peer.handshake(a.id)
        packets = [peer.data(1000) for _ in range(2000)]  # sealed once, sent at will
        sent = 0
        start = time.monotonic()
        deadline = start + 15
        while time.monotonic() < deadline and not self.reported(a, peer):
            for p in packets[:200]:
                peer.sock.sendto(p, peer.to)
                sent += 1
            packets = packets[200:] or [peer.data(1000) for _ in range(2000)]
            time.sleep(0.01)  # ~20 MB/s: far over 64 KiB/s, bounded in count
        ev = a.wait_for("misbehaving", lambda e: e["address"] == peer.address, timeout=5)
        elapsed = time.monotonic() - start
        self.assertEqual(ev["kind"], "flood", _short(ev))
        self.assertEqual(ev.get("peer_id"), peer.identity.hex,
                         "the handshake proved who it is: " + _short(ev))
        self.assertIn("64 KiB/s", ev["detail"], _short(ev))
        self.assertLess(elapsed, 10, "reported after %.1fs" % elapsed)
        self.assertFalse([e for e in a.seen if e.get("event") == "new_peer"
                          and e.get("peer_id") == peer.identity.hex],
                         "a peer that never spoke SCTP was announced")
        assert_rss_below(self, a, before + 32 * 1024, "RSS (KiB)")
        sys.stderr.write("\n    [rudp flood] %d datagrams, reported after %.1fs "
                         % (sent, elapsed))
        # An honest node still connects over udp:// and talks.
        b = self.node(name="B")
        b.send_line("connect udp://127.0.0.1:%d" % a.port)
        out = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=15)
        self.assertEqual(out["transport"], "rudp", _short(out))
        a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=15)
        self.exchange(a, b)


if __name__ == "__main__":
    harness.main()

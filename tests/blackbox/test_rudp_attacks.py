#!/usr/bin/env python3
"""Hostile traffic on a node's UDP socket (reliable UDP): spoofed-source
handshake floods meet cookies, garbage gets silence, duplicated and
replayed datagrams are delivered once. After each, an honest node still
connects over udp:// and talks.

Run alone:  /usr/bin/python3 tests/blackbox/test_rudp_attacks.py [PATH/TO/crust-node]
"""

import os
import random
import select
import socket
import struct
import threading
import time

import harness
from harness import _short
from harness_case import NodeTestCase

INIT, RESPONSE, FINAL, COOKIE, DATA = 0xC1, 0xC2, 0xC3, 0xC4, 0xC5
INIT_SIZE = 152  # docs/PROTOCOL.md, "Datagrams"


def init_packet(sender, cookie=None):
    body = struct.pack(">BI", INIT, sender) + os.urandom(32)
    body += (b"\x01" + cookie) if cookie else b"\x00" + b"\0" * 16
    return body + b"\0" * (INIT_SIZE - len(body))


def udp_endpoint(node):
    return "udp://127.0.0.1:%d" % node.port


def collect(socks, seconds):
    """Every datagram the sockets receive within `seconds`: [(sock, bytes)]."""
    got = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return got
        ready, _, _ = select.select(socks, [], [], left)
        for s in ready:
            try:
                got.append((s, s.recv(2048)))
            except OSError:
                pass


class RudpAttackTest(NodeTestCase):

    def connect_udp_and_talk(self, a, name="B"):
        b = self.node(name=name)
        b.send_line("connect " + udp_endpoint(a))
        out = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=15)
        self.assertEqual(out["transport"], "rudp", _short(out))
        inc = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=15)
        self.assertEqual(inc["transport"], "rudp", _short(inc))
        self.exchange(a, b)
        return b

    def test_spoofed_handshake_flood_meets_cookies_and_a_peer_still_connects(self):
        a = self.node(name="A")
        # 200 sources (127.0.1.1 .. 127.0.1.200: none of them ever answers),
        # 5 INITs each, every one a new handshake.
        socks = []
        for i in range(200):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.1.%d" % (i + 1), 0))
            s.setblocking(False)
            self.addCleanup(s.close)
            socks.append(s)
        sender = 1
        for _ in range(5):
            for s in socks:
                s.sendto(init_packet(sender), ("127.0.0.1", a.port))
                sender += 1
        replies = collect(socks, 2.0)
        kinds = [r[0] for _, r in replies]
        responses, cookies = kinds.count(RESPONSE), kinds.count(COOKIE)
        print("1000 spoofed INITs: %d RESPONSEs, %d COOKIEs, largest reply %d bytes"
              % (responses, cookies, max(len(r) for _, r in replies)))
        # Handshakes computed only up to the load threshold; the rest got a
        # cookie (a MAC, no state), and nothing answered was larger than
        # what asked for it.
        self.assertLessEqual(responses, 16)
        self.assertGreaterEqual(cookies, 1000 - responses - 10)
        self.assertTrue(all(len(r) <= INIT_SIZE for _, r in replies))
        # A cookie is bound to the source: replayed from another address it
        # is no good (another COOKIE, not a RESPONSE).
        s0, cookie_reply = next((s, r) for s, r in replies if r[0] == COOKIE)
        thief = socks[-1] if socks[-1] is not s0 else socks[-2]
        thief.sendto(init_packet(999999, cookie_reply[5:21]), ("127.0.0.1", a.port))
        answer = collect([thief], 1.0)
        self.assertEqual([r[0] for _, r in answer], [COOKIE], answer)
        # Still under load (the spoofed handshakes wait for their timeout):
        # an honest node proves its address with the cookie and connects.
        self.connect_udp_and_talk(a)

    def test_garbage_datagrams_get_silence_and_the_node_keeps_serving(self):
        a = self.node(name="A")
        rng = random.Random(5)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        sent = 0
        for i in range(3000):
            kind = rng.choice([INIT, RESPONSE, FINAL, COOKIE, DATA, 0x00, 0x17, 0xFF])
            size = rng.choice([1, 5, 13, 21, 29, 146, 159, 161, 1200, 1280, 1400])
            body = bytes([kind]) + bytes(rng.getrandbits(8) for _ in range(size - 1))
            if kind == INIT and len(body) == INIT_SIZE:
                continue  # a well-formed INIT is not garbage
            s.sendto(body, ("127.0.0.1", a.port))
            sent += 1
        replies = collect([s], 1.5)
        print("%d garbage datagrams: %d replies" % (sent, len(replies)))
        self.assertEqual(replies, [], "garbage must be met with silence")
        self.connect_udp_and_talk(a)

    def test_duplicated_and_replayed_datagrams_are_delivered_once(self):
        a = self.node(name="A")
        relay = DuplicatingRelay(("127.0.0.1", a.port))
        self.addCleanup(relay.stop)
        b = self.node(name="B")
        b.send_line("connect udp://127.0.0.1:%d" % relay.port)
        b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=15)
        a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=15)
        for i in range(200):
            b.send_line("send %s msg-%04d" % (a.id, i))
        got = []
        for i in range(200):
            got.append(a.wait_for("message", lambda e: e["peer_id"] == b.id,
                                  timeout=20)["text"])
        self.assertEqual(got, ["msg-%04d" % i for i in range(200)])
        # Any extra copy would be a message event before the peers answer.
        a.send_line("peers")
        a.wait_for("peers")
        a.drain()
        self.assertFalse([e for e in a.pending if e.get("event") == "message"],
                         "a message was delivered twice")
        print("relay: %d datagrams, %d sent twice, %d old ones replayed"
              % (relay.forwarded, relay.doubled, relay.replayed))
        self.assertGreater(relay.replayed, 10)


class DuplicatingRelay:
    """Forwards between one client and `target`, sending every datagram
    twice and, every 7th, also an older one again (a replay)."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.out.bind(("127.0.0.1", 0))
        self.client = None
        self.history = []
        self.forwarded = self.doubled = self.replayed = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _send(self, sock, data, to):
        sock.sendto(data, to)
        sock.sendto(data, to)
        self.forwarded += 1
        self.doubled += 1
        self.history.append((sock, data, to))
        if self.forwarded % 7 == 0 and len(self.history) > 20:
            old = self.history[-20]
            old[0].sendto(old[1], old[2])
            self.replayed += 1
        del self.history[:-100]

    def _run(self):
        deadline = time.monotonic() + 120
        while self.running and time.monotonic() < deadline:
            ready, _, _ = select.select([self.sock, self.out], [], [], 0.1)
            for s in ready:
                data, src = s.recvfrom(2048)
                if s is self.sock:
                    self.client = src
                    self._send(self.out, data, self.target)
                elif self.client:
                    self._send(self.sock, data, self.client)

    def stop(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()
        self.out.close()


if __name__ == "__main__":
    harness.main()

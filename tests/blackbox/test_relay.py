#!/usr/bin/env python3
"""A relay that is not crust: a raw peer written from docs/PROTOCOL.md
("Circuits") that both crust-nodes keep, and that relays between them by
hand, keeping every byte it carries. The nodes cannot punch (both paths
off), so A's connect-peer falls back to a circuit through it; both see a
relayed peer, and messages cross both ways. What the relay held is only
ciphertext: it starts with a bare Noise message 1, and neither message
text nor either peer id (the HELLO inside the handshake) is in it.

Run alone:  /usr/bin/python3 tests/blackbox/test_relay.py [PATH/TO/crust-node]
"""

import socket
import struct
import threading
import time

import harness
from harness import _short
from harness_case import NodeTestCase
from harness_wire import Identity

QUIET = ("--crust.beacon=false", "--crust.peer-exchange=false")
NO_PUNCH = QUIET + ("--crust.punch-tcp=false", "--crust.punch-udp=false",
                    "--crust.punch-timeout=600ms")

OPEN, OPENED, INCOMING, DATA, CREDIT, CLOSE = 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12
# max_circuits, per peer, open burst, interval ms, circuit B/s, total B/s,
# window, idle ms
LIMITS = struct.pack(">HHHIIIII", 16, 4, 4, 10000, 1 << 22, 1 << 23, 65536, 120000)


def poll_frame(r, timeout):
    """The next frame from raw peer `r`, or None within `timeout`."""
    rec = r._take_record()
    if rec is None and not r.closed:
        try:
            r.buf += r._recv_some(time.monotonic() + timeout)
        except socket.timeout:
            return None
        rec = r._take_record()
    return r._open(rec) if rec is not None else None


class HandRelay:
    """Carries circuits between two raw peers, each kept by its node."""

    def __init__(self, ra, rb, id_a, id_b):
        self.peers = {"a": ra, "b": rb}
        self.ids = {"a": bytes.fromhex(id_a), "b": bytes.fromhex(id_b)}
        self.route = {}  # (side, circuit id) -> (other side, its id)
        self.carried = {"a": b"", "b": b""}  # bytes each side sent
        self.opened = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 60  # bounded, whatever happens
        while not self.stop.is_set() and time.monotonic() < deadline:
            for side in ("a", "b"):
                f = poll_frame(self.peers[side], 0.01)
                if f is not None:
                    self.on_frame(side, *f)

    def on_frame(self, side, ftype, body):
        other = "b" if side == "a" else "a"
        if ftype == OPEN:
            cid, to = struct.unpack(">I", body[:4])[0], body[4:36]
            if to != self.ids[other]:
                self.peers[side].send_frame(CLOSE, body[:4] + b"\x02")
                return
            theirs = 0x80000001
            self.route[(side, cid)] = (other, theirs)
            self.route[(other, theirs)] = (side, cid)
            self.peers[side].send_frame(OPENED, struct.pack(">II", cid, 65536) + LIMITS)
            self.peers[other].send_frame(INCOMING, struct.pack(">I", theirs)
                                         + self.ids[side] + struct.pack(">I", 65536)
                                         + LIMITS)
            self.opened.set()
        elif ftype in (DATA, CREDIT, CLOSE):
            cid = struct.unpack(">I", body[:4])[0]
            to = self.route.get((side, cid))
            if to is None:
                return
            if ftype == DATA:
                self.carried[side] += body[4:]
            self.peers[to[0]].send_frame(ftype, struct.pack(">I", to[1]) + body[4:])

    def close(self):
        self.stop.set()
        self.thread.join(5)


class RelayTest(NodeTestCase):

    def test_a_relay_carries_only_ciphertext(self):
        a = self.node(*NO_PUNCH, name="A")
        b = self.node(*NO_PUNCH, name="B")
        relay = Identity()
        ra = self.raw_peer(a, identity=relay)
        rb = self.raw_peer(b, identity=relay)
        # Both keep the relay (auto-keep): a message each way proves it.
        for r, n in ((ra, a), (rb, b)):
            r.send_message("kept?")
            n.wait_for("message", lambda e: e["peer_id"] == relay.hex)
        hand = HandRelay(ra, rb, a.id, b.id)
        self.addCleanup(hand.close)
        a.send_line("connect-peer %s via %s" % (b.id, relay.hex))
        got_a = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=20)
        got_b = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=10)
        self.assertTrue(hand.opened.is_set())
        for got in (got_a, got_b):
            self.assertEqual(got["origin"], "relayed", _short(got))
            self.assertEqual(got["transport"], "relay", _short(got))
            self.assertTrue(got["remote"].startswith("relay://"), _short(got))
        # crust-node says so: in `peers`, and in words.
        a.send_line("peers")
        listed = a.wait_for("peers")
        entry = [p for p in listed["peers"] if p["peer_id"] == b.id]
        self.assertEqual(len(entry), 1, _short(listed))
        self.assertEqual((entry[0]["transport"], entry[0]["origin"]),
                         ("relay", "relayed"), _short(listed))
        deadline = time.monotonic() + 5
        while not any("through the relay at" in l for l in a.stderr_lines) \
                and time.monotonic() < deadline:
            time.sleep(0.05)  # stderr is read by a thread; bounded
        self.assertTrue(any("new peer %s through the relay at" % b.id[:8] in l
                            for l in a.stderr_lines), a.stderr_lines[-5:])
        secret_ab = "the relay must not read this, A to B"
        secret_ba = "nor this, B to A"
        self.exchange(a, b, secret_ab, secret_ba)
        hand.close()
        carried = hand.carried["a"] + hand.carried["b"]
        self.assertGreater(len(hand.carried["a"]), 100)
        self.assertGreater(len(hand.carried["b"]), 100)
        # A's first bytes: one record holding a bare Noise XX message 1
        # (its ephemeral key, no payload), as on a direct connection.
        self.assertEqual(struct.unpack(">H", hand.carried["a"][:2])[0], 32)
        for text in (secret_ab, secret_ba):
            self.assertNotIn(text.encode(), carried)
        for pid in (a.id, b.id):
            self.assertNotIn(bytes.fromhex(pid), carried, "a HELLO in the clear")

    def test_a_crust_relay_limits_a_peer_opening_circuits_in_a_loop(self):
        m = self.node(*QUIET, "--crust.relay=true", name="M")
        b = self.node(*QUIET, name="B")
        self.connect(b, m)
        self.exchange(b, m)
        r = self.raw_peer(m)
        r.send_message("kept?")
        m.wait_for("message", lambda e: e["peer_id"] == r.identity.hex)
        to = bytes.fromhex(b.id)
        answers = []
        for cid in range(1, 13):
            r.send_frame(OPEN, struct.pack(">I", cid) + to)
        while len(answers) < 12:
            ftype, body = r.read_frame_skipping_pings(timeout=5)
            if ftype in (OPENED, CLOSE):
                answers.append((ftype, body))
        opened = [body for t, body in answers if t == OPENED]
        refused = [body[4] for t, body in answers if t == CLOSE]
        # A burst of 4 (also the most per peer), then refused for the rate.
        self.assertEqual(len(opened), 4, answers)
        # The limits it announces: crust's defaults for a volunteer relay.
        self.assertEqual(struct.unpack(">HHHIIIII", opened[0][8:]),
                         (16, 4, 4, 10000, 256 * 1024, 1024 * 1024, 64 * 1024, 120000))
        self.assertEqual(refused, [5] * 8, answers)  # rate_limited
        ev = m.wait_for("misbehaving", lambda e: e.get("peer_id") == r.identity.hex)
        self.assertIn("opens relay circuits in a loop", ev["detail"], _short(ev))


if __name__ == "__main__":
    harness.main()

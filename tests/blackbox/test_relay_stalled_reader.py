#!/usr/bin/env python3
"""A crust relay whose reader stops reading: M (crust.relay=true) carries a
circuit between A and B, which cannot punch. B is stopped (SIGSTOP: its
process reads nothing, its socket buffers fill) while A queues 32 MiB for
it. The relay's credit-based flow control must hold the sender back: M's
resident memory grows by far less than A pushed (a bounded buffer per
circuit, whatever the reader does). Then B resumes and every message
arrives intact and in order.

Run alone:  /usr/bin/python3 tests/blackbox/test_relay_stalled_reader.py [PATH/TO/crust-node]
"""

import os
import signal
import time

import harness
from harness import _short
from harness_case import NodeTestCase

QUIET = ("--crust.beacon=false", "--crust.peer-exchange=false")
NO_PUNCH = QUIET + ("--crust.punch-tcp=false", "--crust.punch-udp=false",
                    "--crust.punch-timeout=600ms")
MIB = 1024 * 1024
MESSAGES = 32  # of 1 MiB each
# M's resident memory may grow this much while A pushes 32 MiB: the
# circuit's window (64 KiB) and CAF's buffers, far from the 32 MiB.
BOUND = 12 * MIB


def rss(pid):
    """Resident memory of process `pid`, in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def payload(k):
    """Message k: its number, then 1 MiB of one letter in all."""
    head = "%04d " % k
    return head + chr(ord("a") + k % 26) * (MIB - len(head))


class RelayStalledReaderTest(NodeTestCase):
    def test_a_reader_that_stops_reading_does_not_grow_the_relay(self):
        # M carries at loopback speed: only the reader holds A back.
        m = self.node(*QUIET, "--crust.relay=true",
                      "--crust.relay-circuit-bytes-per-sec=268435456",
                      "--crust.relay-total-bytes-per-sec=268435456", name="M")
        a = self.node(*NO_PUNCH, name="A")
        b = self.node(*NO_PUNCH, name="B")
        self.connect(a, m)
        self.connect(b, m)
        self.exchange(a, m)
        self.exchange(b, m)
        a.send_line("connect-peer %s via %s" % (b.id, m.id))
        got = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id, timeout=20)
        self.assertEqual(got["origin"], "relayed", _short(got))
        b.wait_for("new_peer", lambda e: e["peer_id"] == a.id, timeout=10)
        self.exchange(a, b)  # warm: the circuit carries both ways
        before = rss(m.proc.pid)
        t0 = time.monotonic()
        os.kill(b.proc.pid, signal.SIGSTOP)
        resumed = False
        try:
            for k in range(MESSAGES):
                a.send_line("send %s %s" % (b.id, payload(k)))
            for k in range(MESSAGES):  # all queued at A (its queue: 32 MiB)
                a.wait_for("sent", lambda e: e["peer_id"] == b.id, timeout=20)
            print("queued after %.1f s" % (time.monotonic() - t0))
            # Whatever can flow toward B flows within a few seconds; M's
            # memory is sampled all along (bounded).
            peak = before
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                peak = max(peak, rss(m.proc.pid))
                time.sleep(0.1)  # sampling M's memory, bounded
            print("relay RSS %.1f MiB before, peak %.1f MiB while A queued %d MiB"
                  % (before / MIB, peak / MIB, MESSAGES))
            self.assertLess(peak - before, BOUND,
                            "the relay buffered what its reader did not read")
            os.kill(b.proc.pid, signal.SIGCONT)
            resumed = True
            t1 = time.monotonic()
            for k in range(MESSAGES):
                msg = b.wait_for("message", lambda e: e["peer_id"] == a.id,
                                 timeout=60)
                self.assertEqual(msg["text"][:5], "%04d " % k)
                self.assertEqual(msg["text"], payload(k))
            print("delivered after %.1f s" % (time.monotonic() - t1))
        finally:
            if not resumed:
                os.kill(b.proc.pid, signal.SIGCONT)
        self.assert_no_event(a, "peer_lost")
        self.assert_no_event(b, "peer_lost")


if __name__ == "__main__":
    harness.main()

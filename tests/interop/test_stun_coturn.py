#!/usr/bin/env python3
"""crust's STUN client against a real server: coturn's turnserver, run here
on 127.0.0.1 in STUN-only mode. Also an unreachable server and one that
answers garbage (ignored, counted).

Usage: test_stun_coturn.py PATH/TO/stun_probe
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

PROBE = None


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe(port, rudp=False):
    r = subprocess.run([PROBE] + (["--rudp"] if rudp else []) + ["127.0.0.1", str(port)],
                       stdout=subprocess.PIPE, text=True, timeout=30)
    return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


class StunCoturnTest(unittest.TestCase):

    def start_coturn(self):
        turnserver = shutil.which("turnserver")
        if not turnserver:
            self.skipTest("turnserver not installed (./run setup installs coturn)")
        work = tempfile.mkdtemp(prefix="crust-stun-")
        self.addCleanup(shutil.rmtree, work, True)
        port = free_udp_port()
        server = subprocess.Popen(
            [turnserver, "-n", "--listening-ip=127.0.0.1",
             "--listening-port=%d" % port, "--stun-only", "--no-cli", "--no-tls",
             "--no-dtls", "--no-tcp-relay", "--log-file=stdout", "--simple-log",
             "--pidfile=%s/turn.pid" % work],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
        self.addCleanup(server.wait, 10)
        self.addCleanup(server.kill)
        return port

    def test_coturn_tells_the_address_it_sees(self):
        port = self.start_coturn()
        # The server needs a moment to listen; the probe retransmits (about
        # 2.3 s), and three probes bound the wait.
        for attempt in range(3):
            rc, out = probe(port)
            if rc == 0:
                break
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["mapped"], out["local"], out)
        self.assertEqual(out["ignored"], 0, out)

    def test_the_rudp_engine_learns_its_own_sockets_address(self):
        # What a service asks to learn the mapping of the socket peers
        # punch to: the server must see exactly the rudp socket.
        port = self.start_coturn()
        for attempt in range(2):  # the engine retries for about 8 s
            rc, out = probe(port, rudp=True)
            if rc == 0:
                break
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["mapped"], out["local"], out)

    def test_the_rudp_engine_gives_up_on_a_silent_server(self):
        start = time.monotonic()
        rc, out = probe(free_udp_port(), rudp=True)
        self.assertEqual(rc, 1, out)
        self.assertIn("no answer from 127.0.0.1:", out["error"])
        self.assertLess(time.monotonic() - start, 12)

    def test_an_unreachable_server_gives_up_in_bounded_time(self):
        start = time.monotonic()
        rc, out = probe(free_udp_port())
        self.assertEqual(rc, 1, out)
        self.assertIn("no answer", out["error"])
        self.assertLess(time.monotonic() - start, 10)

    def test_garbage_answers_are_ignored_and_counted(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        stop = threading.Event()

        def answer_garbage():
            while not stop.is_set():
                try:
                    data, peer = sock.recvfrom(1500)
                except (socket.timeout, OSError):
                    return
                # A response to the same transaction, but mangled.
                sock.sendto(bytes([0x01, 0x01, 0x00, 0x04]) + data[4:20] + b"\x00\x20\xff\xff",
                            peer)

        t = threading.Thread(target=answer_garbage, daemon=True)
        t.start()
        rc, out = probe(sock.getsockname()[1])
        stop.set()
        self.assertEqual(rc, 1, out)
        self.assertIn("no answer (4 ignored)", out["error"])


if __name__ == "__main__":
    PROBE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

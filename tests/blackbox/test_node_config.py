#!/usr/bin/env python3
"""Configuration of a node: bad options and INI files, a port in use,
the identity file.

Run alone:  /usr/bin/python3 tests/blackbox/test_node_config.py [PATH/TO/crust-node]
"""

import os
import socket
import stat
import tempfile

import harness
from harness_case import NodeTestCase
from harness_wire import Identity


class NodeConfigTest(NodeTestCase):
    """What a node accepts, refuses, and keeps across restarts."""

    def test_malformed_config_is_a_clear_error(self):
        cli_cases = [
            ("--crust.listen-port=70000", "crust.listen-port", "70000"),
            ("--crust.decision-timeout=-5s", "crust.decision-timeout", "-5s"),
            ("--crust.prefer-transport=carrier-pigeon", "crust.prefer-transport",
             "carrier-pigeon"),
            ("--crust.max-frame-size=100", "crust.max-frame-size", "100"),
            ("--crust.max-frame-size=65536", "crust.max-frame-size", "65536"),
        ]
        for arg, key, value in cli_cases:
            with self.subTest(arg=arg):
                msg = self.run_bad_config(arg)
                self.assertIn(key, msg)
                self.assertIn(value, msg)

        ini_cases = [
            ("range.ini", "listen-port=70000", "crust.listen-port", "70000"),
            ("type.ini", 'listen-port="abc"', "crust.listen-port", "abc"),
            ("typo.ini", "lisen-port=5", "crust.lisen-port", "5"),
            ("duration.ini", "decision-timeout=-5s", "crust.decision-timeout", "-5s"),
        ]
        with tempfile.TemporaryDirectory() as tmp:
            for fname, line, key, value in ini_cases:
                with self.subTest(ini=line):
                    path = os.path.join(tmp, fname)
                    with open(path, "w") as f:
                        f.write("[crust]\n%s\n" % line)
                    msg = self.run_bad_config("--config-file=" + path)
                    self.assertIn(key, msg)
                    self.assertIn(value, msg)
                    self.assertIn(path, msg)
            # A good INI file is accepted (control case).
            with self.subTest(ini="good"):
                path = os.path.join(tmp, "good.ini")
                with open(path, "w") as f:
                    f.write("[crust]\nlisten-port=0\nheartbeat-interval=200ms\n")
                n = self.node("--config-file=" + path, name="good-config")
                n.send_line("peers")
                self.assertEqual(n.wait_for("peers")["peers"], [])

    def test_port_in_use_is_a_clear_error(self):
        # crust's listener has SO_REUSEPORT (for hole punching), yet a
        # port another socket listens on, sharing or not, stays refused.
        for share in (False, True):
            holder = socket.socket()
            try:
                if share:
                    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                holder.bind(("127.0.0.1", 0))
                holder.listen()
                port = holder.getsockname()[1]
                msg = self.run_bad_config("--crust.listen-port=%d" % port)
                self.assertIn("crust.listen-port", msg)
                self.assertIn(str(port), msg)
                self.assertIn("in use", msg)
            finally:
                holder.close()

    def test_identity_file_keeps_the_peer_id(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "node.key")
        a = self.node("--crust.identity-file=" + path, name="A1")
        self.assertTrue(os.path.isfile(path), "no identity file created")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600,
                         "identity file mode %o" % stat.S_IMODE(os.stat(path).st_mode))
        # The handshake proves that id: the raw peer checks that the Noise
        # static key is the one derived from it.
        self.raw_peer(a)
        a.send_line("quit")
        a.assert_exits_cleanly(self, "quit")
        with open(path, "rb") as f:
            content = f.read()
        # docs/PROTOCOL.md: "crust-identity-v1", then the Ed25519 seed in hex.
        lines = content.decode("ascii").split()
        self.assertEqual(lines[0], "crust-identity-v1", content)
        self.assertEqual(Identity(bytes.fromhex(lines[1])).hex, a.id,
                         "the peer id is not the public key of the stored seed")
        again = self.node("--crust.identity-file=" + path, name="A2")
        self.assertEqual(again.id, a.id, "another peer id from the same identity file")
        self.raw_peer(again)
        other = self.node("--crust.identity-file=" + os.path.join(tmp.name, "other.key"),
                          name="O")
        self.assertNotEqual(other.id, a.id)
        again.send_line("quit")
        again.assert_exits_cleanly(self, "quit")
        # A file written by someone else (same format, mode 0600) is used as is.
        mine = Identity()
        made = os.path.join(tmp.name, "made.key")
        fd = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("crust-identity-v1\n%s\n" % mine.seed.hex())
        m = self.node("--crust.identity-file=" + made, name="M")
        self.assertEqual(m.id, mine.hex)
        self.raw_peer(m)
        for mode in (0o644, 0o640, 0o604):
            with self.subTest(mode="%o" % mode):
                os.chmod(path, mode)
                msg = self.run_bad_config("--crust.identity-file=" + path)
                self.assertIn("crust.identity-file", msg)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), content, "the refused file was changed")


if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
"""Black-box tests for the crust-node CLI.

Run:  /usr/bin/python3 tests/blackbox/test_crust_node.py [PATH/TO/crust-node]
      (or set CRUST_NODE; default: build/crust-node next to the sources)

Only the standard library is used. Every node listens on 127.0.0.1 only, on
a random port. Synchronisation is by waiting for events on the node's stdout
(or for bytes/EOF on a raw socket); every wait is bounded. Every process a
test starts is killed at teardown.
"""

import base64
import hashlib
import json
import os
import queue
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BINARY = os.path.normpath(os.path.join(HERE, "..", "..", "build", "crust-node"))
BINARY = os.environ.get("CRUST_NODE", DEFAULT_BINARY)

LOCAL = "--crust.listen-address=127.0.0.1"
FAST_HEARTBEAT = ["--crust.heartbeat-interval=200ms", "--crust.heartbeat-timeout=1s"]

# Wire format (see transports/wire.hpp).
T_HELLO, T_SELECT, T_DATA, T_PING, T_CLOSE = 1, 2, 3, 4, 5
PROTOCOL_VERSION = 1

_EOF = object()


def _short(ev):
    """An event rendered for a failure message (long texts shortened)."""
    s = json.dumps(ev, sort_keys=True)
    return s if len(s) <= 300 else s[:300] + "...(%d chars)" % len(s)


class Node:
    """One crust-node process: events from stdout, commands to stdin.

    A background thread turns each stdout line into a JSON object and puts it
    on a queue; `wait_for` takes events off that queue. Events that did not
    match one wait stay available to later waits, so tests need not care in
    which order independent events arrive.
    """

    def __init__(self, *args, name="node"):
        self.name = name
        cmd = [BINARY, LOCAL] + list(args)
        self.cmd_line = cmd
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, bufsize=0)
        self.events = queue.Queue()
        self.seen = []       # every event, in arrival order (diagnostics)
        self.pending = []    # events taken off the queue but not yet matched
        self.eof = False
        self.stderr_lines = []
        self.id = None
        self.endpoint = None
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()

    # -- background readers -------------------------------------------------

    def _read_stdout(self):
        try:
            self._pump_stdout()
        except (ValueError, OSError):
            pass  # the pipe was closed at teardown
        finally:
            self.events.put(_EOF)

    def _pump_stdout(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line:
                continue
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError("not an object")
            except ValueError:
                ev = {"event": "<not json>", "line": line}
            self.events.put(ev)

    def _read_stderr(self):
        try:
            for raw in iter(self.proc.stderr.readline, b""):
                self.stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
        except (ValueError, OSError):
            pass  # the pipe was closed at teardown

    # -- commands -------------------------------------------------------------

    def start(self, timeout=10):
        """Waits for `listening`; remembers the id and the 127.0.0.1 endpoint."""
        ev = self.wait_for("listening", timeout=timeout)
        self.id = ev["peer_id"]
        assert isinstance(self.id, str) and len(self.id) == 64, _short(ev)
        int(self.id, 16)
        eps = [e for e in ev["endpoints"] if e.startswith("tcp://127.0.0.1:")]
        assert eps, "%s: no tcp://127.0.0.1 endpoint in %s" % (self.name, _short(ev))
        self.endpoint = eps[0]
        return self

    @property
    def port(self):
        return int(self.endpoint.rsplit(":", 1)[1])

    def send_line(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise AssertionError("%s: cannot write %r to stdin (%s)%s"
                                 % (self.name, line[:80], e, self._report()))

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    # -- waiting ----------------------------------------------------------------

    def _match(self, ev, names, predicate):
        return ev.get("event") in names and (predicate is None or predicate(ev))

    def wait_for(self, event_name, predicate=None, timeout=10):
        """Returns the first not yet consumed event named `event_name` (a
        name or a tuple of names) for which `predicate` holds; fails with the
        events seen when none comes within `timeout` seconds."""
        names = (event_name,) if isinstance(event_name, str) else tuple(event_name)
        for i, ev in enumerate(self.pending):
            if self._match(ev, names, predicate):
                return self.pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                break
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                break
            if ev is _EOF:
                self.eof = True
                break
            self.seen.append(ev)
            if self._match(ev, names, predicate):
                return ev
            self.pending.append(ev)
        if self.eof:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            self._err.join(timeout=2)
            why = "stdout closed (%s)" % self.exit_status()
        else:
            why = "nothing within %gs" % timeout
        raise AssertionError("%s: no %s event%s: %s%s" % (
            self.name, "/".join(names),
            "" if predicate is None else " matching the condition",
            why, self._report()))

    def drain(self):
        """Moves whatever arrived so far into `pending` (never blocks)."""
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                return
            if ev is _EOF:
                self.eof = True
                return
            self.seen.append(ev)
            self.pending.append(ev)

    def wait_exit(self, timeout=10):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: still running %gs after being told to stop%s"
                                 % (self.name, timeout, self._report()))
        # Let the readers catch the last words (bounded: the pipes are at EOF
        # unless a grandchild holds them).
        self._out.join(timeout=2)
        self._err.join(timeout=2)
        return rc

    def exit_status(self):
        rc = self.proc.poll()
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return "killed by %s" % signal.Signals(-rc).name
            except ValueError:
                return "killed by signal %d" % -rc
        return "exit code %d" % rc

    def assert_exits_cleanly(self, testcase, what, timeout=10):
        rc = self.wait_exit(timeout)
        testcase.assertEqual(rc, 0, "%s: %s, expected exit code 0 after %s%s"
                             % (self.name, self.exit_status(), what, self._report()))

    def _report(self):
        seen = self.seen[-40:]
        lines = ["", "  command: %s (%s)" % (" ".join(self.cmd_line), self.exit_status()),
                 "  events seen (%d, last %d shown):" % (len(self.seen), len(seen))]
        lines += ["    " + _short(e) for e in seen]
        if self.stderr_lines:
            lines.append("  stderr (last 15 lines):")
            lines += ["    " + l for l in self.stderr_lines[-15:]]
        return "\n".join(lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        self.kill()
        self._out.join(timeout=2)
        self._err.join(timeout=2)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:
                pass


# -- raw (evil) peers ---------------------------------------------------------

def frame(ftype, body=b""):
    return struct.pack(">IB", len(body) + 1, ftype) + body


def hello_frame(peer_id_bytes, session):
    return frame(T_HELLO, bytes([PROTOCOL_VERSION]) + peer_id_bytes
                 + struct.pack(">Q", session))


class RawPeer:
    """A plain TCP socket that speaks (or abuses) crust's framing."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.closed = False

    @property
    def local_address(self):
        host, port = self.sock.getsockname()[:2]
        return "%s:%d" % (host, port)

    def send(self, data):
        self.sock.sendall(data)

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

    def read_frame(self, timeout=5):
        """Returns (type, body) of the next frame the node sends."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 5:
                length = struct.unpack(">I", self.buf[:4])[0]
                if length >= 1 and len(self.buf) >= 4 + length:
                    ftype, body = self.buf[4], self.buf[5:4 + length]
                    self.buf = self.buf[4 + length:]
                    return ftype, body
            if self.closed:
                raise AssertionError("raw peer: connection closed while waiting "
                                     "for a frame (buffered %r)" % self.buf[:64])
            try:
                self.buf += self._recv_some(deadline)
            except socket.timeout:
                raise AssertionError("raw peer: no complete frame within %gs "
                                     "(buffered %r)" % (timeout, self.buf[:64]))

    def read_frame_skipping_pings(self, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            ftype, body = self.read_frame(max(0.01, deadline - time.monotonic()))
            if ftype != T_PING:
                return ftype, body

    def handshake(self, node_id_hex, my_id, session, timeout=5):
        """HELLO both ways, then SELECT from whichever id is lower."""
        self.send(hello_frame(my_id, session))
        ftype, body = self.read_frame_skipping_pings(timeout)
        assert ftype == T_HELLO, "expected HELLO from the node, got type %d" % ftype
        assert len(body) == 41, "HELLO body of %d bytes" % len(body)
        assert body[0] == PROTOCOL_VERSION, "HELLO version %d" % body[0]
        assert body[1:33].hex() == node_id_hex, \
            "HELLO carries %s, the node listens as %s" % (body[1:33].hex(), node_id_hex)
        if my_id < body[1:33]:
            self.send(frame(T_SELECT))
        else:
            ftype, body = self.read_frame_skipping_pings(timeout)
            assert (ftype, body) == (T_SELECT, b""), \
                "expected SELECT from the leading node, got type %d %r" % (ftype, body[:40])

    def wait_closed(self, timeout=5):
        """True when the node closes the connection within `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            try:
                self._recv_some(deadline)
            except socket.timeout:
                return False
            except OSError:
                return True
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def free_then_closed_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def payload(i, size):
    """Message i: a sequence number, then bytes that depend on i."""
    head = "%06d:" % i
    pattern = hashlib.sha256(head.encode()).hexdigest()
    body = (pattern * (size // len(pattern) + 1))[:size - len(head)]
    return head + body


# -- tests --------------------------------------------------------------------

class CrustNodeTest(unittest.TestCase):
    def node(self, *args, name="node", start=True):
        n = Node(*args, name=name)
        self.addCleanup(n.close)
        if start:
            n.start()
        return n

    def auto_keep_off(self):
        """Arguments that turn auto-keep off.

        The documented way is `--node.auto-keep=false`, but this crust-node
        rejects that argument (CAF 0.17 takes boolean options on the command
        line as bare flags only; see test_auto_keep_false_on_the_command_line_
        is_accepted). The keep/drop tests therefore set the same option in an
        INI file, so that they test keep/drop and not the parser.
        """
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "auto-keep-off.ini")
        with open(path, "w") as f:
            f.write("[node]\nauto-keep=false\n")
        return ["--config-file=" + path]

    def raw(self, port):
        r = RawPeer(port)
        self.addCleanup(r.close)
        return r

    def connect(self, dialler, listener):
        """`dialler` connects to `listener`; returns both new_peer events
        (dialler's, listener's)."""
        dialler.send_line("connect " + listener.endpoint)
        out = dialler.wait_for("new_peer", lambda e: e["peer_id"] == listener.id)
        inc = listener.wait_for("new_peer", lambda e: e["peer_id"] == dialler.id)
        return out, inc

    def exchange(self, a, b, text_ab=None, text_ba=None):
        """a sends to b and b sends to a; both messages must arrive intact."""
        text_ab = text_ab or "hello %s from %s" % (b.name, a.name)
        text_ba = text_ba or "hello %s from %s" % (a.name, b.name)
        a.send_line("send %s %s" % (b.id, text_ab))
        a.wait_for("sent", lambda e: e["peer_id"] == b.id and e["bytes"] == len(text_ab.encode()))
        got = b.wait_for("message", lambda e: e["peer_id"] == a.id)
        self.assertEqual(got.get("text"), text_ab, _short(got))
        b.send_line("send %s %s" % (a.id, text_ba))
        b.wait_for("sent", lambda e: e["peer_id"] == a.id and e["bytes"] == len(text_ba.encode()))
        got = a.wait_for("message", lambda e: e["peer_id"] == b.id)
        self.assertEqual(got.get("text"), text_ba, _short(got))

    # 1
    def test_two_nodes_connect_exchange_messages_both_ways(self):
        a = self.node(name="A")
        b = self.node(name="B")
        self.assertNotEqual(a.id, b.id)
        out, inc = self.connect(b, a)
        self.assertEqual(out["transport"], "tcp")
        self.assertEqual(out["origin"], "direct")
        self.assertIs(out["inbound"], False, _short(out))
        self.assertEqual(out["remote"], a.endpoint, _short(out))
        self.assertEqual(inc["transport"], "tcp")
        self.assertEqual(inc["origin"], "direct")
        self.assertIs(inc["inbound"], True, _short(inc))
        self.assertTrue(inc["remote"].startswith("tcp://127.0.0.1:"), _short(inc))
        # Both ends agree on the one connection's addresses.
        self.assertEqual(inc["remote"], out["local"], "%s vs %s" % (_short(inc), _short(out)))
        self.exchange(b, a, "ping from B to A", "pong from A to B")
        # Non-ASCII UTF-8 survives the round trip too.
        b.send_line("send %s grüße ✓" % a.id)
        self.assertEqual(a.wait_for("message", lambda e: e["peer_id"] == b.id).get("text"),
                         "grüße ✓")

        a.send_line("quit")
        a.assert_exits_cleanly(self, "quit")
        lost = b.wait_for("peer_lost", lambda e: e["peer_id"] == a.id)
        self.assertTrue(lost["reason"], _short(lost))
        b.send_line("quit")
        b.assert_exits_cleanly(self, "quit")

    # 2
    def test_eof_on_stdin_shuts_down_cleanly(self):
        a = self.node(name="A")
        a.send_line("peers")
        self.assertEqual(a.wait_for("peers")["peers"], [])
        a.close_stdin()
        a.assert_exits_cleanly(self, "EOF on stdin")

    def test_eof_with_a_connected_peer_shuts_down_cleanly(self):
        a = self.node(name="A")
        b = self.node(name="B")
        self.connect(b, a)
        a.close_stdin()
        a.assert_exits_cleanly(self, "EOF on stdin")
        b.wait_for("peer_lost", lambda e: e["peer_id"] == a.id)
        b.close_stdin()
        b.assert_exits_cleanly(self, "EOF on stdin")

    # 3
    def test_keep_and_drop_decide_when_auto_keep_is_off(self):
        a = self.node(*self.auto_keep_off(), name="A")
        b = self.node(name="B")
        c = self.node(name="C")
        self.connect(b, a)
        self.connect(c, a)

        a.send_line("keep " + b.id)
        a.wait_for("kept", lambda e: e["peer_id"] == b.id)
        a.send_line("drop " + c.id)
        a.wait_for("dropped", lambda e: e["peer_id"] == c.id)
        c.wait_for("peer_lost", lambda e: e["peer_id"] == a.id)
        a.wait_for("peer_lost", lambda e: e["peer_id"] == c.id)

        a.send_line("send %s are you there?" % c.id)
        err = a.wait_for("error", lambda e: e.get("command") == "send")
        self.assertTrue(err["message"], _short(err))
        self.assertNotIn("sent", [e["event"] for e in a.seen], "A acknowledged a send to C")

        a.send_line("peers")
        peers = a.wait_for("peers")["peers"]
        self.assertEqual([(p["peer_id"], p["kept"]) for p in peers], [(b.id, True)],
                         json.dumps(peers))
        self.exchange(b, a)
        self.exchange(a, b)

    # 4
    def test_undecided_peer_is_closed_after_decision_timeout(self):
        a = self.node(*self.auto_keep_off(), "--crust.decision-timeout=1s", name="A")
        b = self.node(name="B")
        self.connect(b, a)
        announced = time.monotonic()
        lost = a.wait_for("peer_lost", lambda e: e["peer_id"] == b.id, timeout=6)
        waited = time.monotonic() - announced
        b.wait_for("peer_lost", lambda e: e["peer_id"] == a.id, timeout=6)
        # Not closed right away: the node waited (about) the decision timeout.
        self.assertGreaterEqual(waited, 0.5, "closed after %.2fs, before the 1s "
                                "decision timeout: %s" % (waited, _short(lost)))
        self.assertTrue(lost["reason"], _short(lost))
        a.send_line("peers")
        self.assertEqual(a.wait_for("peers")["peers"], [])

    def test_auto_keep_false_on_the_command_line_is_accepted(self):
        # The CLI's documented switch. With it, a new peer waits for keep.
        a = self.node("--node.auto-keep=false", name="A")
        b = self.node(name="B")
        self.connect(b, a)
        a.send_line("peers")
        peers = a.wait_for("peers")["peers"]
        self.assertEqual([(p["peer_id"], p["kept"]) for p in peers], [(b.id, False)],
                         json.dumps(peers))

    # 5
    def test_send_to_unkept_peer_is_an_error(self):
        a = self.node(*self.auto_keep_off(), name="A")
        b = self.node(name="B")
        self.connect(b, a)
        a.send_line("send %s too early" % b.id)
        err = a.wait_for("error", lambda e: e.get("command") == "send")
        self.assertTrue(err["message"], _short(err))
        a.send_line("peers")
        peers = a.wait_for("peers")["peers"]
        self.assertEqual([(p["peer_id"], p["kept"]) for p in peers], [(b.id, False)],
                         json.dumps(peers))
        # B (which kept A) may already talk; A gets it once it keeps B.
        b.send_line("send %s sent while undecided" % a.id)
        b.wait_for("sent", lambda e: e["peer_id"] == a.id)
        a.send_line("keep " + b.id)
        a.wait_for("kept", lambda e: e["peer_id"] == b.id)
        got = a.wait_for("message", lambda e: e["peer_id"] == b.id)
        self.assertEqual(got.get("text"), "sent while undecided")
        self.exchange(a, b)
        self.assertNotIn("too early", [e.get("text") for e in b.seen if e["event"] == "message"],
                         "B received the message A tried to send before keep")

    # 6
    def test_connect_to_closed_port_reports_connection_failed(self):
        a = self.node(name="A")
        port = free_then_closed_port()
        target = "tcp://127.0.0.1:%d" % port
        a.send_line("connect " + target)
        ev = a.wait_for("connection_failed")
        self.assertEqual(ev["target"], target, _short(ev))
        self.assertTrue(ev["reason"], _short(ev))
        self.assertNotIn("new_peer", [e["event"] for e in a.seen])
        # Still alive and well.
        a.send_line("peers")
        self.assertEqual(a.wait_for("peers")["peers"], [])

    # 7
    def test_connecting_to_itself_is_refused(self):
        a = self.node(name="A")
        a.send_line("connect " + a.endpoint)
        ev = a.wait_for("connection_failed")
        self.assertEqual(ev["target"], a.endpoint, _short(ev))
        self.assertTrue(ev["reason"], _short(ev))
        a.send_line("peers")
        self.assertEqual(a.wait_for("peers")["peers"], [])
        a.drain()
        self.assertNotIn("new_peer", [e["event"] for e in a.seen],
                         "the node announced itself as a peer" + a._report())
        # And it still serves real peers.
        b = self.node(name="B")
        self.connect(b, a)
        self.exchange(a, b)

    # 8
    def run_bad_config(self, *args):
        """Runs crust-node with a bad configuration; returns the error event."""
        n = self.node(*args, name="bad-config", start=False)
        n.close_stdin()
        rc = n.wait_exit()
        ev = n.wait_for("error")
        self.assertEqual(rc, 1, "exit code for %s%s" % (" ".join(args), n._report()))
        n.drain()
        self.assertNotIn("listening", [e["event"] for e in n.seen],
                         "listened despite a bad configuration" + n._report())
        return ev["message"]

    def test_malformed_config_is_a_clear_error(self):
        cli_cases = [
            ("--crust.listen-port=70000", "crust.listen-port", "70000"),
            ("--crust.decision-timeout=-5s", "crust.decision-timeout", "-5s"),
            ("--crust.prefer-transport=carrier-pigeon", "crust.prefer-transport",
             "carrier-pigeon"),
            ("--crust.max-frame-size=100", "crust.max-frame-size", "100"),
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
        holder = socket.socket()
        try:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            msg = self.run_bad_config("--crust.listen-port=%d" % port)
            self.assertIn("crust.listen-port", msg)
            self.assertIn(str(port), msg)
        finally:
            holder.close()

    # 9
    def test_oversize_frame_raises_misbehaving_and_node_keeps_serving(self):
        a = self.node(name="A")
        evil = self.raw(a.port)
        evil.send(struct.pack(">I", 0x7FFFFFFF) + bytes([T_DATA]))
        ev = a.wait_for("misbehaving")
        self.assertEqual(ev["kind"], "oversize", _short(ev))
        self.assertEqual(ev["address"], evil.local_address, _short(ev))
        self.assertTrue(evil.wait_closed(timeout=5),
                        "the node kept the connection open after an oversize frame")
        b = self.node(name="B")
        self.connect(b, a)
        self.exchange(a, b)

    def test_frame_just_over_max_frame_size_is_oversize(self):
        a = self.node("--crust.max-frame-size=1024", name="A")
        evil = self.raw(a.port)
        evil.send(struct.pack(">IB", 1025, T_DATA))
        ev = a.wait_for("misbehaving")
        self.assertEqual(ev["kind"], "oversize", _short(ev))
        self.assertTrue(evil.wait_closed(timeout=5))

    # 10
    def test_garbage_stream_raises_misbehaving(self):
        a = self.node("--crust.handshake-timeout=2s", name="A")
        rnd = random.Random()
        seed = rnd.randrange(1 << 30)
        rnd.seed(seed)
        bad_type = rnd.randrange(T_CLOSE + 1, 256)
        junk = struct.pack(">IB", 200, bad_type) + bytes(rnd.randrange(256) for _ in range(500))
        evil = self.raw(a.port)
        evil.send(junk)
        ev = a.wait_for("misbehaving")
        self.assertEqual(ev["kind"], "protocol_violation", "seed %d: %s" % (seed, _short(ev)))
        self.assertEqual(ev["address"], evil.local_address, _short(ev))
        self.assertTrue(evil.wait_closed(timeout=5),
                        "the node kept the connection open after garbage")
        # Entirely random bytes: whatever they look like, the node objects
        # (bad length, bad type or no HELLO in time) and closes.
        evil2 = self.raw(a.port)
        evil2.send(bytes([rnd.randrange(1, 256)]) + bytes(rnd.randrange(256) for _ in range(300)))
        ev2 = a.wait_for("misbehaving", lambda e: e["address"] == evil2.local_address,
                         timeout=6)
        self.assertIn(ev2["kind"], ("oversize", "protocol_violation", "handshake_timeout"),
                      "seed %d: %s" % (seed, _short(ev2)))
        self.assertTrue(evil2.wait_closed(timeout=5))
        b = self.node(name="B")
        self.connect(b, a)
        self.exchange(a, b)
        self.assertNotIn("peer_lost", [e["event"] for e in a.seen])

    def test_data_before_handshake_is_a_protocol_violation(self):
        a = self.node(name="A")
        evil = self.raw(a.port)
        evil.send(frame(T_DATA, b"\x01sneaky"))
        ev = a.wait_for("misbehaving")
        self.assertEqual(ev["kind"], "protocol_violation", _short(ev))
        self.assertTrue(evil.wait_closed(timeout=5))
        a.send_line("peers")
        self.assertEqual(a.wait_for("peers")["peers"], [])

    # 11
    def test_peer_killed_mid_stream_is_reported_lost(self):
        a = self.node(*FAST_HEARTBEAT, name="A")
        b = self.node(*FAST_HEARTBEAT, name="B")
        self.connect(b, a)
        self.exchange(a, b)
        # B is in the middle of a stream when it dies.
        for i in range(20):
            b.send_line("send %s %s" % (a.id, payload(i, 4000)))
        a.wait_for("message", lambda e: e["peer_id"] == b.id)
        os.kill(b.proc.pid, signal.SIGKILL)
        b.wait_exit()
        # Heartbeat timeout (1s) plus slack for a loaded machine.
        a.wait_for("peer_lost", lambda e: e["peer_id"] == b.id, timeout=3)
        a.send_line("peers")
        self.assertEqual(a.wait_for("peers")["peers"], [])

    # 12
    def test_silent_peer_is_lost_after_heartbeat_timeout(self):
        a = self.node(*FAST_HEARTBEAT, name="A")
        a_id = bytes.fromhex(a.id)
        # One raw peer whose id is below A's (it leads and sends SELECT) and
        # one whose id is above (A leads and sends SELECT).
        ids = {}
        while len(ids) < 2:
            pid = os.urandom(32)
            if pid != a_id:
                ids.setdefault(pid < a_id, pid)
        peers = []
        for raw_leads in (True, False):
            pid = ids[raw_leads]
            r = self.raw(a.port)
            r.handshake(a.id, pid, random.getrandbits(64))
            ev = a.wait_for("new_peer", lambda e, h=pid.hex(): e["peer_id"] == h)
            self.assertIs(ev["inbound"], True)
            peers.append((pid.hex(), r, time.monotonic()))
        # From now on the raw peers say nothing at all.
        for hex_id, r, since in peers:
            lost = a.wait_for("peer_lost", lambda e, h=hex_id: e["peer_id"] == h, timeout=5)
            waited = time.monotonic() - since
            self.assertIn("heartbeat", lost["reason"].lower(), _short(lost))
            self.assertGreaterEqual(waited, 0.5, "lost after only %.2fs: %s"
                                    % (waited, _short(lost)))
            self.assertTrue(r.wait_closed(timeout=5))
        self.assertNotIn("misbehaving", [e["event"] for e in a.seen])

    def test_handshake_timeout_raises_misbehaving(self):
        a = self.node("--crust.handshake-timeout=1s", name="A")
        mute = self.raw(a.port)
        ev = a.wait_for("misbehaving", timeout=5)
        self.assertEqual(ev["kind"], "handshake_timeout", _short(ev))
        self.assertEqual(ev["address"], mute.local_address, _short(ev))
        self.assertNotIn("peer_id", ev, "a peer that never said HELLO has no id")
        self.assertTrue(mute.wait_closed(timeout=5))

    def test_restarted_peer_supersedes_its_old_connection(self):
        a = self.node(name="A")
        pid = os.urandom(32)
        first = self.raw(a.port)
        first.handshake(a.id, pid, 1)
        a.wait_for("new_peer", lambda e: e["peer_id"] == pid.hex())
        first.send(frame(T_DATA, b"\x03before restart"))
        self.assertEqual(a.wait_for("message")["text"], "before restart")
        # Same id, new session: the peer restarted.
        second = self.raw(a.port)
        second.handshake(a.id, pid, 2)
        lost = a.wait_for("peer_lost", lambda e: e["peer_id"] == pid.hex())
        self.assertIn("supersede", lost["reason"], _short(lost))
        ev = a.wait_for("new_peer", lambda e: e["peer_id"] == pid.hex())
        self.assertEqual(ev["remote"], "tcp://" + second.local_address, _short(ev))
        self.assertTrue(first.wait_closed(timeout=5), "the old connection stayed open")
        second.send(frame(T_DATA, b"\x03after restart"))
        self.assertEqual(a.wait_for("message")["text"], "after restart")
        a.send_line("peers")
        peers = a.wait_for("peers")["peers"]
        self.assertEqual([(p["peer_id"], p["remote"]) for p in peers],
                         [(pid.hex(), "tcp://" + second.local_address)], json.dumps(peers))

    def test_simultaneous_connect_yields_one_connection(self):
        a = self.node(name="A")
        b = self.node(name="B")
        a.send_line("connect " + b.endpoint)
        b.send_line("connect " + a.endpoint)
        a.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.exchange(a, b)
        self.exchange(b, a)
        for n, other in ((a, b), (b, a)):
            n.send_line("peers")
            peers = n.wait_for("peers")["peers"]
            self.assertEqual([p["peer_id"] for p in peers], [other.id], json.dumps(peers))
            n.drain()
            events = [e["event"] for e in n.seen]
            self.assertEqual(events.count("new_peer"), 1, n._report())
            self.assertNotIn("peer_lost", events, n._report())

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


def main():
    global BINARY
    argv = list(sys.argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        BINARY = os.path.abspath(argv.pop(1))
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        sys.stderr.write("crust-node binary not found: %s\n"
                         "usage: %s PATH/TO/crust-node [unittest options]\n"
                         % (BINARY, argv[0]))
        sys.exit(2)
    unittest.main(argv=argv, verbosity=2)


if __name__ == "__main__":
    main()

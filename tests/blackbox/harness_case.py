"""NodeTestCase: the unittest base class of the tests that run crust-node.

Its helpers start nodes and raw peers (each closed at teardown: every
process a test starts is killed), connect them, and check what the nodes
report.
"""

import os
import queue
import resource
import tempfile
import time
import unittest

from harness import _short
from harness_node import _EOF, Node
from harness_wire import Identity, RawListener, RawPeer


def rss_kib(node):
    with open("/proc/%d/status" % node.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %s" % node.name)


def sanitized(node):
    """True for an ASan build, whose quarantine of freed memory makes RSS
    say nothing about what the node keeps."""
    with open("/proc/%d/maps" % node.proc.pid) as f:
        return "libasan" in f.read()


def assert_rss_below(testcase, node, kib, what):
    if not sanitized(node):
        testcase.assertLess(rss_kib(node), kib, what)


def raise_fd_limit(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class NodeTestCase(unittest.TestCase):
    def node(self, *args, name="node", start=True, **kwargs):
        n = Node(*args, name=name, **kwargs)
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
        """A raw TCP connection to `port` (nothing sent yet)."""
        r = RawPeer(port)
        self.addCleanup(r.close)
        return r

    def raw_peer(self, node, lower=None, identity=None, session=None):
        """A raw peer that completed the handshake (and SELECT) with `node`
        and that `node` announced. `lower`: its id is below the node's (it
        leads), above (the node leads), or random (None)."""
        if identity is None:
            identity = Identity() if lower is None else Identity.ordered(node.id, lower)
        r = self.raw(node.port)
        r.handshake(node.id, identity, session)
        ev = node.wait_for("new_peer", lambda e: e["peer_id"] == identity.hex)
        self.assertIs(ev["inbound"], True, _short(ev))
        self.assertEqual(ev["remote"], "tcp://" + r.local_address, _short(ev))
        return r

    def raw_listener(self):
        listener = RawListener()
        self.addCleanup(listener.close)
        return listener

    def expect_misbehaving(self, node, raw, kind, timeout=5, note=""):
        """`node` reports `raw`'s connection as misbehaving `kind` and closes it."""
        ev = node.wait_for("misbehaving", lambda e: e["address"] == raw.local_address,
                           timeout=timeout)
        self.assertEqual(ev["kind"], kind, note + _short(ev))
        self.assertTrue(raw.wait_closed(timeout=5),
                        "%s: the node kept the connection open after %s"
                        % (node.name, _short(ev)))
        if not raw.established or kind == "handshake_invalid":
            # Nobody the node authenticated: it says nothing more to it (not
            # even CLOSE) and names no peer id (a claim is not a proof).
            self.assertEqual(raw.buf, b"", "%s: the node sent %d more bytes to an "
                             "unauthenticated peer after %s" % (node.name, len(raw.buf),
                                                                _short(ev)))
            self.assertNotIn("peer_id", ev, "an unproven peer id: " + _short(ev))
        else:
            self.assertEqual(ev.get("peer_id"), raw.identity.hex,
                             "an authenticated peer misbehaved: " + _short(ev))
        return ev

    def wait_any(self, waits, timeout=10):
        """Waits until one of `waits` ((node, event name, predicate), ...)
        has happened; returns (node, event)."""
        deadline = time.monotonic() + timeout
        while True:
            for n, name, pred in waits:
                n.drain()
                for ev in n.pending:
                    if n._match(ev, (name,), pred):
                        return n, ev
            if time.monotonic() >= deadline:
                self.fail("none of %s within %gs:%s" % (
                    ", ".join("%s on %s" % (name, n.name) for n, name, _ in waits), timeout,
                    "".join(n._report() for n in {id(w[0]): w[0] for w in waits}.values())))
            # Block (bounded) on the first node's queue instead of spinning.
            first = waits[0][0]
            try:
                ev = first.events.get(timeout=0.05)
            except queue.Empty:
                continue
            if ev is _EOF:
                first.eof = True
            else:
                first.seen.append(ev)
                first.pending.append(ev)

    def assert_no_event(self, node, name, predicate=None):
        node.drain()
        bad = [e for e in node.seen if node._match(e, (name,), predicate)]
        self.assertFalse(bad, "%s: unexpected %s%s" % (node.name, _short(bad[0]) if bad else "",
                                                        node._report()))

    def assert_no_peers(self, node):
        node.send_line("peers")
        self.assertEqual(node.wait_for("peers")["peers"], [], node._report())

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

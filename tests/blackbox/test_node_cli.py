#!/usr/bin/env python3
"""Nodes driven through the CLI: connect and exchange messages, keep
and drop, quit and EOF, failed connects.

Run alone:  /usr/bin/python3 tests/blackbox/test_node_cli.py [PATH/TO/crust-node]
"""

import json
import time

import harness
from harness import _short, free_then_closed_port
from harness_case import NodeTestCase
from harness_wire import F_LAST, F_NORMAL, T_DATA, Identity


class NodeCliTest(NodeTestCase):
    """Commands on stdin, events on stdout."""

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

    def test_node_dials_a_raw_peer(self):
        a = self.node(name="A")
        for lower in (True, False):
            with self.subTest(raw_leads=lower):
                listener = self.raw_listener()
                me = Identity.ordered(a.id, lower)
                a.send_line("connect " + listener.endpoint)
                r = listener.accept()
                r.respond(a.id, me)
                ev = a.wait_for("new_peer", lambda e: e["peer_id"] == me.hex)
                self.assertIs(ev["inbound"], False, _short(ev))
                self.assertEqual(ev["remote"], listener.endpoint, _short(ev))
                r.send_message("from the raw side")
                got = a.wait_for("message", lambda e: e["peer_id"] == me.hex)
                self.assertEqual(got.get("text"), "from the raw side")
                a.send_line("send %s from the node" % me.hex)
                ftype, body = r.read_frame_skipping_pings()
                self.assertEqual(ftype, T_DATA, body[:40])
                self.assertTrue(body[0] & F_LAST and not body[0] & ~(F_LAST | F_NORMAL),
                                "flags %#x" % body[0])
                self.assertEqual(body[1:], b"from the node")
                r.close()
                a.wait_for("peer_lost", lambda e: e["peer_id"] == me.hex)


if __name__ == "__main__":
    harness.main()

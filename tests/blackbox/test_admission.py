#!/usr/bin/env python3
"""Who may connect, decided by the application at run time: blacklisting
many peers at once (ids and address ranges), unblacklisting, and the
allow-list mode.

Run alone:  /usr/bin/python3 tests/blackbox/test_admission.py [PATH/TO/crust-node]
"""

import harness
from harness import _short
from harness_case import NodeTestCase


class AdmissionTest(NodeTestCase):

    def assert_refused(self, dialler, node):
        """`dialler`'s attempt on `node` ends refused: as connection_failed,
        or, when the dialler leads (its id is lower) and so announced the
        peer on its HELLO, as that peer lost with reason "refused"."""
        _, ev = self.wait_any([
            (dialler, "connection_failed", None),
            (dialler, "peer_lost", lambda e: e["peer_id"] == node.id
             and "refused" in e["reason"])])
        if ev["event"] == "peer_lost":
            self.assertLess(dialler.id, node.id, _short(ev))

    def announced(self, node, peer):
        """How often `node` reported `peer` as a new peer."""
        node.drain()
        return sum(1 for e in node.seen
                   if e.get("event") == "new_peer" and e["peer_id"] == peer.id)

    def test_blacklist_closes_many_peers_at_once_and_refuses_them(self):
        a = self.node(name="A")
        peers = [self.node(name="P%d" % i) for i in range(4)]
        for p in peers:
            self.connect(p, a)
        # Two by id, and everyone on 127.0.0.0/8 by range: one command.
        a.send_line("blacklist %s %s 127.0.0.0/8" % (peers[0].id, peers[1].id))
        ack = a.wait_for("blacklisted")
        self.assertEqual(ack["closed"], 4, _short(ack))
        for p in peers:
            a.wait_for("peer_lost", lambda e, p=p: e["peer_id"] == p.id)
            ev = p.wait_for("peer_lost", lambda e: e["peer_id"] == a.id)
            self.assertIn("refused", ev["reason"], _short(ev))
        # Refused from now on, and the application is not told of each
        # refusal as misbehaviour: it asked for it.
        peers[2].send_line("connect " + a.endpoint)
        self.assert_refused(peers[2], a)
        self.assertEqual(self.announced(a, peers[2]), 1)  # only before the blacklist
        self.assert_no_event(a, "misbehaving")
        # A dial to a blacklisted address fails at once.
        a.send_line("connect " + peers[3].endpoint)
        ev = a.wait_for("connection_failed")
        self.assertEqual(ev["reason"], "blacklisted", _short(ev))
        # Off the list again: the range and one id.
        a.send_line("unblacklist 127.0.0.0/8 %s" % peers[0].id)
        self.assertEqual(a.wait_for("unblacklisted")["removed"], 2)
        self.connect(peers[3], a)
        self.exchange(a, peers[3])
        peers[1].send_line("connect " + a.endpoint)  # its id is still listed
        self.assert_refused(peers[1], a)
        self.assertEqual(self.announced(a, peers[1]), 1)  # only before the blacklist

    def test_a_bad_blacklist_entry_is_an_error_naming_it(self):
        a = self.node(name="A")
        a.send_line("blacklist 10.0.0.0/8 not-a-peer")
        ev = a.wait_for("error")
        self.assertIn("not-a-peer", ev["message"], _short(ev))

    def test_allow_only_admits_listed_peers_and_closes_the_rest(self):
        a = self.node(name="A")
        friend = self.node(name="friend")
        stranger = self.node(name="stranger")
        self.connect(stranger, a)
        a.send_line("allow-only " + friend.id)
        ack = a.wait_for("allowing")
        self.assertEqual(ack["closed"], 1, _short(ack))
        ev = stranger.wait_for("peer_lost", lambda e: e["peer_id"] == a.id)
        self.assertIn("refused", ev["reason"], _short(ev))
        # The stranger is refused right after its handshake...
        stranger.send_line("connect " + a.endpoint)
        self.assert_refused(stranger, a)
        self.assertEqual(self.announced(a, stranger), 1)  # only before the list
        # ...the friend is welcome...
        self.connect(friend, a)
        self.exchange(a, friend)
        # ...and A does not dial a stranger whose id it pins.
        a.send_line("connect %s#%s" % (stranger.endpoint, stranger.id))
        ev = a.wait_for("connection_failed")
        self.assertEqual(ev["reason"], "not on the allow list", _short(ev))
        # An empty list ends the mode.
        a.send_line("allow-only")
        self.assertEqual(a.wait_for("allowing")["closed"], 0)
        self.connect(stranger, a)

    def test_allow_only_by_range_refuses_before_the_handshake(self):
        a = self.node(name="A")
        a.send_line("allow-only 192.0.2.0/24")
        a.wait_for("allowing")
        raw = self.raw(a.port)  # from 127.0.0.1: outside the range
        self.assertTrue(raw.wait_closed(timeout=5), "A kept a connection it may not")
        self.assertEqual(raw.buf, b"", "A answered a refused address")
        self.assert_no_event(a, "misbehaving")

    def test_allow_list_from_the_config_holds_from_the_start(self):
        a = self.node('--crust.allow-only=["192.0.2.0/24"]', name="A")
        b = self.node(name="B")
        b.send_line("connect " + a.endpoint)
        b.wait_for("connection_failed")
        self.assertEqual(self.announced(a, b), 0)
        a.send_line("allow-only 127.0.0.1")
        a.wait_for("allowing")
        self.connect(b, a)
        self.exchange(a, b)


if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
"""Bootstrap: a node finds its network again by itself, from its cache of
peers it reached directly, then from its contacts; its cache survives
restarts, damage and sharing.

Run alone:  /usr/bin/python3 tests/blackbox/test_bootstrap.py [PATH/TO/crust-node]
"""

import json
import os
import tempfile

import harness
import nacl.signing
from harness import _short, free_then_closed_port
from harness_case import NodeTestCase
from harness_wire import PROTOCOL_VERSION, T_PEERS, T_PEERS_REQUEST


class BootstrapTest(NodeTestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="crust-bootstrap-")
        self.addCleanup(self.dir.cleanup)

    def cache_arg(self, name="b"):
        return "--crust.bootstrap-cache-file=" + os.path.join(self.dir.name, name + ".json")

    def cache_of(self, name="b"):
        with open(os.path.join(self.dir.name, name + ".json")) as f:
            return json.load(f)

    def contacts(self, *endpoints):
        return "--crust.contacts=[%s]" % ",".join('"%s"' % e for e in endpoints)

    def test_restarted_node_reconnects_from_its_cache(self):
        a = self.node(name="A")
        b = self.node(self.cache_arg(), self.contacts(a.endpoint), name="B")
        out = b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.assertEqual(out["origin"], "bootstrap-out", _short(out))
        inc = a.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        self.assertEqual(inc["origin"], "bootstrap-in", _short(inc))
        done = b.wait_for("bootstrap_finished")
        self.assertEqual(done["connections"], 1, _short(done))
        b.send_line("quit")
        b.wait_exit()
        # A had no one to tell of (an empty sample): one round, one report.
        rounds = [e for e in b.seen if e.get("event") == "bootstrap_finished"]
        self.assertEqual(len(rounds), 1, [_short(e) for e in rounds])
        cached = self.cache_of()["peers"]
        self.assertEqual([p["id"] for p in cached], [a.id], json.dumps(cached))
        self.assertEqual(cached[0]["endpoints"], [a.endpoint], json.dumps(cached))
        # Restart with no contacts at all: the cache is enough.
        b2 = self.node(self.cache_arg(), name="B2")
        again = b2.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.assertEqual(again["origin"], "bootstrap-out", _short(again))
        self.assertEqual(b2.wait_for("bootstrap_finished")["connections"], 1)
        a.wait_for("new_peer", lambda e: e["peer_id"] == b2.id)  # A keeps it first
        self.exchange(a, b2)

    def test_dead_cache_entries_fall_through_to_contacts(self):
        a = self.node(name="A")
        gone = self.node(self.cache_arg("gone"), name="gone")
        # B learns `gone` (its cache remembers it), then `gone` disappears.
        b = self.node(self.cache_arg(), self.contacts(gone.endpoint), name="B")
        b.wait_for("bootstrap_finished")
        b.send_line("quit")
        b.wait_exit()
        gone.kill()
        b2 = self.node(self.cache_arg(), self.contacts(a.endpoint),
                       "--crust.connect-timeout=2s", name="B2")
        got = b2.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.assertEqual(got["origin"], "bootstrap-out", _short(got))
        self.assertEqual(b2.wait_for("bootstrap_finished")["connections"], 1)
        # The dead entry counts its failures; A joins the cache.
        b2.send_line("quit")
        b2.wait_exit()
        entries = {p["id"]: p for p in self.cache_of()["peers"]}
        self.assertGreaterEqual(entries[gone.id]["failures"], 1, json.dumps(entries))
        self.assertEqual(entries[a.id]["failures"], 0, json.dumps(entries))

    def test_nothing_answers_is_bootstrap_failed_with_reasons(self):
        port = free_then_closed_port()
        b = self.node(self.cache_arg(), self.contacts("tcp://127.0.0.1:%d" % port),
                      name="B")
        ev = b.wait_for("bootstrap_failed", timeout=30)
        self.assertEqual(len(ev["reasons"]), 1, _short(ev))
        self.assertIn("127.0.0.1:%d" % port, ev["reasons"][0])
        self.assert_no_event(b, "connection_failed")  # a round's dials are its own

    def test_a_corrupt_cache_is_reported_set_aside_and_rebuilt(self):
        path = os.path.join(self.dir.name, "b.json")
        with open(path, "w") as f:
            f.write('{"format": "crust-bootstrap-cache", "peers": [')
        a = self.node(name="A")
        b = self.node(self.cache_arg(), self.contacts(a.endpoint), name="B")
        warn = b.wait_for("warning")
        self.assertIn("not JSON", warn["message"], _short(warn))
        self.assertIn("set aside", warn["message"], _short(warn))
        b.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        b.send_line("quit")
        b.wait_exit()
        self.assertEqual([p["id"] for p in self.cache_of()["peers"]], [a.id])
        aside = [n for n in os.listdir(self.dir.name) if n.startswith("b.json.unusable-")]
        self.assertEqual(len(aside), 1, os.listdir(self.dir.name))

    def test_an_unwritable_cache_stops_start_up_unless_not_required(self):
        bad = "--crust.bootstrap-cache-file=/proc/crust-no/cache.json"
        n = self.node(bad, name="B", start=False)
        ev = n.wait_for("error")
        self.assertIn("crust.bootstrap-cache-file", ev["message"], _short(ev))
        self.assertIn("/proc/crust-no", ev["message"], _short(ev))
        self.assertNotEqual(n.wait_exit(), 0)
        ok = self.node(bad, "--crust.bootstrap-cache-required=false", name="B2")
        self.assertEqual(ok.port > 0, True)
        warn = ok.wait_for("warning")
        self.assertIn("without a bootstrap cache", warn["message"], _short(warn))

    def test_a_bad_contact_is_a_config_error_naming_it(self):
        n = self.node(self.contacts("tcp://not-an-ip:1"), name="B", start=False)
        ev = n.wait_for("error")
        self.assertIn("crust.contacts", ev["message"], _short(ev))
        self.assertIn("not-an-ip", ev["message"], _short(ev))

    def test_peer_exchange_learns_a_peer_two_hops_away(self):
        a = self.node(name="A")
        b = self.node(self.cache_arg("b"), name="B")
        self.connect(b, a)  # B reached A directly: A is in B's cache
        c = self.node(self.cache_arg("c"), self.contacts(b.endpoint), name="C")
        c.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        # C asks B, learns A, and connects to A directly.
        got = c.wait_for("new_peer", lambda e: e["peer_id"] == a.id)
        self.assertEqual(got["origin"], "bootstrap-out", _short(got))
        self.assertEqual(got["remote"], a.endpoint, _short(got))
        inc = a.wait_for("new_peer", lambda e: e["peer_id"] == c.id)
        self.assertEqual(inc["origin"], "bootstrap-in", _short(inc))
        self.exchange(a, c)
        c.send_line("quit")
        c.wait_exit()
        ids = [p["id"] for p in self.cache_of("c")["peers"]]
        self.assertEqual(sorted(ids), sorted([a.id, b.id]), ids)

    def test_peer_exchange_off_learns_nothing(self):
        a = self.node(name="A")
        b = self.node(self.cache_arg("b"), name="B")
        self.connect(b, a)
        c = self.node(self.cache_arg("c"), self.contacts(b.endpoint),
                      "--crust.peer-exchange=false", name="C")
        c.wait_for("new_peer", lambda e: e["peer_id"] == b.id)
        c.wait_for("bootstrap_finished")
        c.send_line("peers")
        self.assertEqual([p["peer_id"] for p in c.wait_for("peers")["peers"]], [b.id])

    def test_a_peers_sample_is_signed_by_its_sender(self):
        """Checked with PyNaCl's Ed25519, independent of crust's code."""
        a = self.node(name="A")
        b = self.node(self.cache_arg("b"), name="B")
        self.connect(b, a)  # A is in B's cache
        r = self.raw_peer(b)
        r.send_frame(T_PEERS_REQUEST)
        ftype, body = r.read_frame_skipping_pings()
        self.assertEqual(ftype, T_PEERS, body[:40])
        signed, sig = body[:-64], body[-64:]
        text = (b"crust-peers" + bytes([PROTOCOL_VERSION, len(b"crust")]) + b"crust"
                + bytes.fromhex(b.id) + signed)
        nacl.signing.VerifyKey(bytes.fromhex(b.id)).verify(text, sig)  # raises if bad
        count = signed[8]
        self.assertEqual(count, 1, body.hex())
        entry_id, n = signed[9:41], signed[41]
        self.assertEqual(entry_id.hex(), a.id)
        self.assertEqual(signed[42:42 + n].decode(), a.endpoint)
        # A second request within 10 s is ignored.
        r.send_frame(T_PEERS_REQUEST)
        r.send_message("still here")
        b.wait_for("message", lambda e: e.get("text") == "still here")
        with self.assertRaises(Exception):
            r.read_frame_skipping_pings(timeout=0.5)


if __name__ == "__main__":
    harness.main()

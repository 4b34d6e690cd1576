#!/usr/bin/env python3
"""The NAT-pair matrix (lab/punch_matrix.py), each cell once: two nodes
behind the cell's pair of NATs, each with a public node as its only
contact; the first asks to connect to the second by id, and the outcome
must be what theory allows (punch_matrix.expected): connected on the
expected path (a punched one, or a circuit through the public node,
which relays, where no punch can work) with a message round trip on it. `./run lab matrix` runs it
five times, and at 5% loss, for figures. Needs root; skips (exit 0)
otherwise.

Usage: python3 tests/lab/test_punch_matrix.py [path/to/crust-node]
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, os.path.join(REPO, "tests", "blackbox"))
import harness  # noqa: E402  (re-runs us with the system python if needed)
import netlab  # noqa: E402
import punch_matrix  # noqa: E402


class PunchMatrixTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        netlab.require_root()
        cls.m = punch_matrix.MatrixLab()
        cls.addClassCleanup(cls.m.close)

    def check_cell(self, a, b):
        cell = self.m.cell(a, b)
        self.addCleanup(cell.close)
        r = cell.run()
        want = punch_matrix.expected(a, b)
        print("%-12s %s" % (punch_matrix.label(a, b),
                            "%s in %.3f s, round %s (%s)" % (r["path"], r["seconds"],
                                                             r["round"], r["remote"])
                            if r["connected"] else "failed in %.1f s: %s"
                            % (r["seconds"] or 0, r["reason"])),
              file=sys.stderr, flush=True)
        self.assertTrue(punch_matrix.as_expected(r, want),
                        "%s: expected %s, got %s" % (punch_matrix.label(a, b), want, r))
        if r["connected"] and r["path"] != "relay":
            # The punched report names the round that got through.
            self.assertIn(r["round"], (1, 2, 3), r)
        if r["connected"] and "symmetric" in (a, b) and "full-cone" not in (a, b) \
                and r["path"] == "udp":
            # Only birthday mode gets UDP through a symmetric NAT to a
            # port-restricted one, and it starts in round 2.
            self.assertGreaterEqual(r["round"], 2, r)
        if r["connected"] and a in ("hairpin-on", "hairpin-off"):
            self.assertTrue(r["lan"], "the LAN candidate must win: %s" % r)
        # Nothing the attempt opened outlives it (birthday mode's 256
        # sockets included).
        self.assertEqual(r["leaked"], 0, r)
        if not r["connected"]:
            # A clean failure, within the punch timeout: never a hang.
            self.assertLess(r["seconds"], 13, r)
            self.assertIn("round 1", r["reason"], r)


def _add(a, b):
    def test(self):
        self.check_cell(a, b)
    name = "test_" + punch_matrix.label(a, b).replace("-", "_").lower()
    setattr(PunchMatrixTest, name, test)


for _a, _b in punch_matrix.cells():
    _add(_a, _b)


if __name__ == "__main__":
    harness.main()

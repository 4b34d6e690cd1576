#!/usr/bin/env python3
"""The hole-punching part of `./run demo` (as root): a small lab of
network namespaces, two hosts behind two NATs and a public peer both of
them know, and crust-node on each; the two are introduced by the public
peer and punch through their NATs. Every line is what the nodes reported.
Without root, `./run demo` says in one line why this part is skipped.

  /usr/bin/python3 lab/punch_demo.py [crust-node]
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "blackbox"))
import harness  # noqa: E402  (re-runs us with the system python if needed)
import netlab  # noqa: E402
import punch_matrix  # noqa: E402

started = time.monotonic()


def say(text):
    print("[%7.3fs] %s" % (time.monotonic() - started, text), flush=True)


def nat_words(kind):
    return {"port-restricted": "a port-restricted NAT (the common home router)",
            "symmetric": "a symmetric NAT (a new port for every destination)"}[kind]


def show(m, a_kind, b_kind, extra=(), what=""):
    say("starting alice and bob in their namespaces; each asks STUN how its NAT behaves")
    cell = m.cell(a_kind, b_kind, extra=extra)
    try:
        for n in (cell.a, cell.b):
            ev = [e for e in n.seen if e.get("event") == "external_endpoints"][-1]
            say("%s: NAT type %s (mapping %s, filtering %s)"
                % ("alice" if n is cell.a else "bob", ev["nat_type"], ev["mapping"],
                   ev["filtering"]))
        ra, rb = cell.routers["a"], cell.routers["b"]
        say("alice is behind %s at %s, bob behind %s at %s%s"
            % (nat_words(a_kind), ra.wan_ip, nat_words(b_kind), rb.wan_ip, what))
        say("each knows only the public node M (198.18.0.102), and M keeps both")
        say("alice asks M to introduce her to bob (connect-peer %s...)" % cell.b.id[:12])
        r = cell.run()
        if not r["connected"]:
            say("no way through: %s" % r["reason"])
            return
        how = "%s path %s" % ("a TCP" if r["path"] == "tcp" else "a UDP",
                              "straight through both NATs")
        say("punched %s in %d ms, in round %d: alice reaches bob at %s, both see origin"
            " \"punched\"" % (how, round(r["seconds"] * 1000), r["round"], r["remote"]))
        say("alice said \"ping from A\" and bob answered \"pong from B\" over it")
        if r["round"] > 1:
            say("(round 1 tried the plain paths for 3 s; birthday mode came in round 2)")
    finally:
        cell.close()


def main():
    if len(sys.argv) > 1:
        harness.BINARY = os.path.abspath(sys.argv[1])
    netlab.require_root()
    say("building a lab: network namespaces, nftables NATs, a STUN server (coturn)")
    m = punch_matrix.MatrixLab()
    try:
        show(m, "port-restricted", "port-restricted")
        show(m, "port-restricted", "port-restricted", ("--crust.punch-tcp=false",),
             "; this time TCP punching is off")
        show(m, "port-restricted", "symmetric", (),
             "; only birthday mode gets through this pair (256 sockets against 1024 probes)")
    finally:
        m.close()
    say("lab removed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""LAN discovery: nodes with no contacts at all find each other through
the beacon; forged, stale and foreign announcements are ignored.

The LAN case builds three hosts on a bridge in network namespaces (root
only; 10.77.0.0/24 exists only inside them) and skips with a message
without root. The loopback cases point each node's beacon at the others'
ports on 127.0.0.1 (crust.beacon-targets) and run anywhere.

Run alone:  /usr/bin/python3 tests/blackbox/test_beacon.py [PATH/TO/crust-node]
"""

import hashlib
import os
import socket
import struct
import subprocess
import time
import unittest

import harness
import nacl.signing
from harness import _short, free_then_closed_port
from harness_case import NodeTestCase
from harness_wire import Identity


def free_udp_port():
    return free_then_closed_port(socket.SOCK_DGRAM)


def beacon_packet(identity, endpoints, when=None, network="crust", kind=0):
    """An announcement written from docs/PROTOCOL.md, signed with PyNaCl."""
    body = b"crsb" + bytes([1, kind])
    body += hashlib.blake2b(network.encode(), digest_size=16,
                            key=b"crust-beacon-network").digest()
    body += identity.id + struct.pack(">QB", int(time.time() if when is None else when),
                                      len(endpoints))
    for ep in endpoints:
        body += bytes([len(ep)]) + ep.encode()
    return body + nacl.signing.SigningKey(identity.seed).sign(body).signature


class BeaconLoopbackTest(NodeTestCase):

    def beacon_args(self, port, others):
        return ["--crust.beacon-port=%d" % port,
                "--crust.beacon-targets=[%s]" % ",".join('"127.0.0.1:%d"' % p
                                                         for p in others)]

    def test_three_nodes_with_no_contacts_find_each_other(self):
        ports = [free_udp_port() for _ in range(3)]
        # Peer exchange off: every connection here is the beacon's doing.
        nodes = [self.node(*self.beacon_args(p, [q for q in ports if q != p]),
                           "--crust.peer-exchange=false", name="N%d" % i)
                 for i, p in enumerate(ports)]
        for n in nodes:
            for other in nodes:
                if other is not n:
                    n.wait_for("new_peer", lambda e, o=other: e["peer_id"] == o.id)
        dialled = [e for n in nodes for e in n.seen
                   if e.get("event") == "new_peer" and not e["inbound"]]
        self.assertTrue(dialled and all(e["origin"] == "beacon" for e in dialled),
                        [_short(e) for e in dialled])
        self.exchange(nodes[0], nodes[2])

    def announce_to(self, node_port, packet):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.sendto(packet, ("127.0.0.1", node_port))

    def test_forged_stale_and_foreign_announcements_are_ignored(self):
        port = free_udp_port()
        b = self.node(*self.beacon_args(port, []), name="B")
        listener = self.raw_listener()
        ep = listener.endpoint
        someone = Identity()
        forged = bytearray(beacon_packet(someone, [ep]))
        forged[-1] ^= 1
        bad = [("forged", bytes(forged)),
               ("stale", beacon_packet(someone, [ep], when=time.time() - 600)),
               ("another network", beacon_packet(someone, [ep], network="other")),
               ("garbage", os.urandom(200))]
        for what, packet in bad:
            self.announce_to(port, packet)
        listener.sock.settimeout(1.5)
        with self.assertRaises(socket.timeout, msg="B dialled after a bad packet"):
            listener.sock.accept()
        # The same announcement, well formed, is believed: the checks above
        # refused the packets for what was wrong with them.
        self.announce_to(port, beacon_packet(someone, [ep]))
        listener.sock.settimeout(5)
        conn, _ = listener.sock.accept()
        conn.close()
        self.assert_no_event(b, "misbehaving", lambda e: "beacon" in e.get("detail", ""))

    def test_beacon_false_sends_and_hears_nothing(self):
        port = free_udp_port()
        self.node(*self.beacon_args(port, []), "--crust.beacon=false", name="B")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", port))  # free: B did not bind its beacon port


LAN = "crust-lan"


def sh(*args):
    return subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=20)


class BeaconLanTest(NodeTestCase):
    """Three hosts on one bridge, each in its own network namespace."""

    hosts = ["%s-h%d" % (LAN, i) for i in (1, 2, 3)]

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for network namespaces (the loopback "
                          "beacon tests still ran)")
        self.addCleanup(self.teardown_lan)
        self.teardown_lan()
        steps = [("ip", "netns", "add", LAN + "-br"),
                 ("ip", "-n", LAN + "-br", "link", "add", "br0", "type", "bridge"),
                 ("ip", "-n", LAN + "-br", "link", "set", "br0", "up")]
        for i, ns in enumerate(self.hosts, 1):
            steps += [("ip", "netns", "add", ns),
                      ("ip", "-n", LAN + "-br", "link", "add", "p%d" % i, "type", "veth",
                       "peer", "name", "eth0", "netns", ns),
                      ("ip", "-n", LAN + "-br", "link", "set", "p%d" % i, "master", "br0"),
                      ("ip", "-n", LAN + "-br", "link", "set", "p%d" % i, "up"),
                      ("ip", "-n", ns, "addr", "add", "10.77.0.%d/24" % i,
                       "brd", "10.77.0.255", "dev", "eth0"),
                      ("ip", "netns", "exec", ns, "sysctl", "-qw",
                       "net.ipv6.conf.eth0.accept_dad=0"),
                      ("ip", "-n", ns, "link", "set", "eth0", "up"),
                      ("ip", "-n", ns, "link", "set", "lo", "up")]
        for step in steps:
            r = sh(*step)
            if r.returncode != 0:
                self.skipTest("cannot build the namespace LAN (%s): %s"
                              % (" ".join(step), r.stderr.strip()))

    def teardown_lan(self):
        for ns in self.hosts + [LAN + "-br"]:
            sh("ip", "netns", "del", ns)

    def test_without_ipv4_broadcast_ipv6_multicast_finds_them(self):
        # IPv4 addresses without a broadcast address: the announcements can
        # only travel by IPv6 link-local multicast.
        for i, ns in enumerate(self.hosts, 1):
            for step in (("ip", "-n", ns, "addr", "flush", "dev", "eth0", "scope", "global"),
                         ("ip", "-n", ns, "addr", "add", "10.77.0.%d/24" % i, "dev", "eth0")):
                r = sh(*step)
                self.assertEqual(r.returncode, 0, r.stderr)
        self.test_three_hosts_find_each_other_by_broadcast()

    def test_three_hosts_find_each_other_by_broadcast(self):
        nodes = [self.node(name="H%d" % i, prefix=("ip", "netns", "exec", ns),
                           listen="--crust.listen-address=0.0.0.0")
                 for i, ns in enumerate(self.hosts, 1)]
        for n in nodes:
            for other in nodes:
                if other is not n:
                    ev = n.wait_for("new_peer", lambda e, o=other: e["peer_id"] == o.id,
                                    timeout=15)
                    self.assertTrue(ev["remote"].startswith("tcp://10.77.0."), _short(ev))
        self.exchange(nodes[0], nodes[1])


if __name__ == "__main__":
    harness.main()

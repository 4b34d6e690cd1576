#!/usr/bin/env python3
"""A STUN server that answers every Binding request twice: first with a
malformed response carrying the request's transaction id (its length field
claims more than it sends), then with a good one. For the lab test that a
malformed reply is ignored and counted. Prints READY, stops after SECONDS.

Usage: stun_mangler.py IP PORT SECONDS
"""

import socket
import struct
import sys
import time

COOKIE = 0x2112A442


def good_answer(request, addr):
    ip, port = addr
    xport = port ^ (COOKIE >> 16)
    xip = struct.unpack(">I", socket.inet_aton(ip))[0] ^ COOKIE
    attr = struct.pack(">HHBBHI", 0x0020, 8, 0, 1, xport, xip)
    return struct.pack(">HH", 0x0101, len(attr)) + request[4:20] + attr


def main():
    ip, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(0.2)
    print("READY", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            request, addr = s.recvfrom(1500)
        except socket.timeout:
            continue
        if len(request) < 20:
            continue
        good = good_answer(request, addr)
        s.sendto(good[:-4], addr)  # says 12 attribute bytes, has 8
        s.sendto(good, addr)


if __name__ == "__main__":
    main()

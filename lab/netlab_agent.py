#!/usr/bin/env python3
"""Small network tools that netlab runs inside a lab namespace.

They live in a script of their own (rather than python -c one-liners) so
that each tool is readable and every one of them has a hard time limit:
a tool left behind by a failed test must end by itself even if teardown
never comes. Servers print READY once bound, so callers wait on that line
instead of sleeping. Results are one JSON line on stdout.
"""

import argparse
import json
import heapq
import os
import random
import select
import signal
import socket
import struct
import sys
import time

MAGIC = 0x2112A442


def addr(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def say(obj):
    print(json.dumps(obj), flush=True)


def udp_socket(port, ip=""):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    return s


def stun_request():
    txid = os.urandom(12)
    return txid, struct.pack("!HHI", 0x0001, 0, MAGIC) + txid


def stun_mapped(packet, txid):
    """XOR-MAPPED-ADDRESS (or the old MAPPED-ADDRESS) of a Binding success."""
    if len(packet) < 20 or packet[8:20] != txid:
        return None
    kind, length = struct.unpack("!HH", packet[:4])
    if kind != 0x0101:
        return None
    found = None
    pos, end = 20, min(len(packet), 20 + length)
    while pos + 4 <= end:
        atype, alen = struct.unpack("!HH", packet[pos:pos + 4])
        value = packet[pos + 4:pos + 4 + alen]
        if atype in (0x0020, 0x0001) and alen >= 8 and value[1] == 1:
            port, = struct.unpack("!H", value[2:4])
            raw, = struct.unpack("!I", value[4:8])
            if atype == 0x0020:
                port ^= MAGIC >> 16
                raw ^= MAGIC
            ip = socket.inet_ntoa(struct.pack("!I", raw))
            if atype == 0x0020 or found is None:
                found = [ip, port]
        pos += 4 + ((alen + 3) & ~3)
    return found


def cmd_stun(a):
    s = udp_socket(a.local_port)
    server = addr(a.server)
    deadline = time.monotonic() + a.timeout
    txid, req = stun_request()
    # Retransmit on a short fixed interval: a lab has no congestion to respect
    # and callers use this as a readiness probe, so the answer should come fast.
    while time.monotonic() < deadline:
        s.sendto(req, server)
        wait_until = min(deadline, time.monotonic() + a.interval)
        while True:
            left = wait_until - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            packet, _ = s.recvfrom(2048)
            mapped = stun_mapped(packet, txid)
            if mapped:
                say({"mapped": mapped, "local": list(s.getsockname())})
                return
    say({"mapped": None, "local": list(s.getsockname())})


def cmd_echo(a):
    """Reply with the source address seen; optionally also poke that address
    from another port, which is how filtering behaviour is observed."""
    socks = [udp_socket(p, a.bind) for p in a.ports]
    other = None
    if a.unsolicited_from:
        other = udp_socket(a.unsolicited_from, a.unsolicited_ip or a.bind)
    print("READY", flush=True)
    deadline = time.monotonic() + a.max_seconds
    while time.monotonic() < deadline:
        for s in select.select(socks, [], [], 1.0)[0]:
            data, src = s.recvfrom(2048)
            seen = "%s:%d" % src
            s.sendto(seen.encode(), src)
            if other:
                other.sendto(("unsolicited " + seen).encode(), src)


def cmd_probe(a):
    s = udp_socket(a.local_port)
    seen = {}
    unsolicited = []
    targets = [addr(t) for t in a.targets]
    for target in targets:
        key = "%s:%d" % target
        seen[key] = None
        for _ in range(a.tries):
            s.sendto(b"probe", target)
            until = time.monotonic() + a.wait
            while seen[key] is None:
                left = until - time.monotonic()
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                data, src = s.recvfrom(2048)
                text = data.decode(errors="replace")
                if src == target and not text.startswith("unsolicited"):
                    seen[key] = text
                elif text.startswith("unsolicited"):
                    unsolicited.append(list(src))
            if seen[key] is not None:
                break
    # The echo's unsolicited pokes trail its replies; give them a moment.
    until = time.monotonic() + a.linger
    while True:
        left = until - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        data, src = s.recvfrom(2048)
        if data.startswith(b"unsolicited"):
            unsolicited.append(list(src))
    say({"seen": seen, "unsolicited": unsolicited,
         "local": list(s.getsockname())})


def cmd_sink(a):
    s = udp_socket(a.port, a.bind)
    print("READY", flush=True)
    count, first, reordered, highest = 0, [], 0, -1
    deadline = time.monotonic() + a.max_seconds
    last = None
    while time.monotonic() < deadline:
        wait = 0.2 if last is None else max(0.0, last + a.idle - time.monotonic())
        if last is not None and wait == 0.0:
            break
        if not select.select([s], [], [], min(wait, 0.2))[0]:
            continue
        data, src = s.recvfrom(65535)
        count += 1
        last = time.monotonic()
        seq = data.rsplit(b" ", 1)[-1]
        if seq.isdigit():
            # Arrived after a datagram that was sent later: reordered.
            reordered += int(seq) < highest
            highest = max(highest, int(seq))
        if len(first) < a.keep:
            first.append([src[0], src[1], data.decode(errors="replace")])
        if a.reply:
            s.sendto(b"ack " + data, src)
        if a.stop_after and count >= a.stop_after:
            break
    say({"count": count, "first": first, "reordered": reordered})


def cmd_send(a):
    s = udp_socket(a.local_port)
    target = addr(a.target)
    gap = 1.0 / a.rate if a.rate else 0.0
    start = time.monotonic()
    for i in range(a.count):
        s.sendto(("%s %d" % (a.data, i)).encode(), target)
        if gap:
            lag = start + (i + 1) * gap - time.monotonic()
            if lag > 0:
                time.sleep(lag)
    replies, rtt = [], None
    until = time.monotonic() + a.wait_reply
    while True:
        left = until - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        data, src = s.recvfrom(2048)
        if rtt is None:
            rtt = time.monotonic() - start
        replies.append([src[0], src[1], data.decode(errors="replace")])
    say({"sent": a.count, "local": list(s.getsockname()), "replies": replies, "rtt": rtt})


def cmd_tcp_listen(a):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.bind, a.port))
    srv.listen(8)
    print("READY", flush=True)
    srv.settimeout(a.max_seconds)
    try:
        conn, peer = srv.accept()
    except socket.timeout:
        say({"peer": None})
        return
    conn.settimeout(2.0)
    try:
        data = conn.recv(1024).decode(errors="replace")
        conn.sendall(("hello from %s:%d" % conn.getsockname()).encode())
    except OSError as e:
        data = "error: %s" % e
    conn.close()
    say({"peer": list(peer), "data": data})


def cmd_tcp_connect(a):
    deadline = time.monotonic() + a.timeout
    last_error = "timeout"
    # Retried so that callers can use it as a readiness probe for a listener.
    while time.monotonic() < deadline:
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
        try:
            c.connect(addr(a.target))
            reply = ""
            if a.data:
                c.sendall(a.data.encode())
                reply = c.recv(1024).decode(errors="replace")
            say({"ok": True, "reply": reply, "local": list(c.getsockname())})
            return
        except OSError as e:
            last_error = str(e)
        finally:
            c.close()
        if not a.retry:
            break
        time.sleep(0.05)
    say({"ok": False, "error": last_error})


def cmd_relay(a):
    """UDP relay that delays each datagram by delay + uniform(0, jitter), so
    jitter larger than the sending gap reorders; it may also drop. This lab
    has no tc/netem. Each client gets its own upstream socket, so the target
    sees one distinct peer (relay ip, port) per client."""
    listen = udp_socket(a.port, a.bind)
    stats = {"forwarded": 0, "dropped": 0, "clients": 0}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop() wants the counts
    print("READY", flush=True)
    try:
        relay(a, listen, stats)
    finally:
        say(stats)


def relay(a, listen, stats):
    target = addr(a.target)
    upstream, clients, queue = {}, {}, []
    rng = random.Random(a.seed)
    seq = 0
    deadline = time.monotonic() + a.max_seconds
    while time.monotonic() < deadline:
        wait = 0.5 if not queue else max(0.0, min(0.5, queue[0][0] - time.monotonic()))
        for s in select.select([listen] + list(clients), [], [], wait)[0]:
            data, src = s.recvfrom(65535)
            if s is listen:
                if src not in upstream:
                    if len(upstream) >= 64:
                        continue
                    upstream[src] = udp_socket(0, a.bind)
                    clients[upstream[src]] = src
                    stats["clients"] += 1
                out, dest = upstream[src], target
            else:
                out, dest = listen, clients[s]
            if rng.random() * 100 < a.loss:
                stats["dropped"] += 1
                continue
            due = time.monotonic() + (a.delay_ms + rng.uniform(0, a.jitter_ms)) / 1000.0
            heapq.heappush(queue, (due, seq, out, data, dest))
            seq += 1
        while queue and queue[0][0] <= time.monotonic():
            _, _, out, data, dest = heapq.heappop(queue)
            out.sendto(data, dest)
            stats["forwarded"] += 1


def cmd_tcp_relay(a):
    """TCP relay that holds every chunk for delay ms in each direction (the
    lab has no netem): clients connect to --bind:port, each gets its own
    connection to target. A client or target closing closes the pair."""
    listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listen.bind((a.bind, a.port))
    listen.listen(64)
    stats = {"forwarded": 0, "clients": 0}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY", flush=True)
    try:
        tcp_relay(a, listen, stats)
    finally:
        say(stats)


def tcp_relay(a, listen, stats):
    target = addr(a.target)
    peer, queue = {}, []  # socket -> its other end; (due, seq, out, data)
    seq = 0
    deadline = time.monotonic() + a.max_seconds
    while time.monotonic() < deadline:
        wait = 0.5 if not queue else max(0.0, min(0.5, queue[0][0] - time.monotonic()))
        for s in select.select([listen] + list(peer), [], [], wait)[0]:
            if s is listen:
                c, _ = listen.accept()
                if len(peer) >= 128:
                    c.close()
                    continue
                up = socket.create_connection(target, timeout=5)
                peer[c], peer[up] = up, c
                stats["clients"] += 1
                continue
            if s not in peer:
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                other = peer.pop(s)
                peer.pop(other, None)
                s.close()
                other.close()
                continue
            heapq.heappush(queue, (time.monotonic() + a.delay_ms / 1000.0, seq, peer[s], data))
            seq += 1
        while queue and queue[0][0] <= time.monotonic():
            _, _, out, data = heapq.heappop(queue)
            try:
                out.sendall(data)
                stats["forwarded"] += 1
            except OSError:
                pass


def main(argv):
    p = argparse.ArgumentParser(prog="netlab_agent")
    sub = p.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("stun")
    x.add_argument("server")
    x.add_argument("--local-port", type=int, default=0)
    x.add_argument("--timeout", type=float, default=3.0)
    x.add_argument("--interval", type=float, default=0.25)
    x = sub.add_parser("echo")
    x.add_argument("ports", type=int, nargs="+")
    x.add_argument("--bind", default="")
    x.add_argument("--unsolicited-from", type=int, default=0)
    x.add_argument("--unsolicited-ip", default="")
    x.add_argument("--max-seconds", type=float, default=600)
    x = sub.add_parser("probe")
    x.add_argument("targets", nargs="+")
    x.add_argument("--local-port", type=int, default=0)
    x.add_argument("--tries", type=int, default=3)
    x.add_argument("--wait", type=float, default=0.4)
    x.add_argument("--linger", type=float, default=0.5)
    x = sub.add_parser("sink")
    x.add_argument("port", type=int)
    x.add_argument("--bind", default="")
    x.add_argument("--idle", type=float, default=1.0)
    x.add_argument("--max-seconds", type=float, default=30)
    x.add_argument("--keep", type=int, default=5)
    x.add_argument("--reply", action="store_true")
    x.add_argument("--stop-after", type=int, default=0)
    x = sub.add_parser("send")
    x.add_argument("target")
    x.add_argument("--local-port", type=int, default=0)
    x.add_argument("--count", type=int, default=1)
    x.add_argument("--rate", type=float, default=0)
    x.add_argument("--data", default="datagram")
    x.add_argument("--wait-reply", type=float, default=0)
    x = sub.add_parser("tcp-listen")
    x.add_argument("port", type=int)
    x.add_argument("--bind", default="")
    x.add_argument("--max-seconds", type=float, default=30)
    x = sub.add_parser("tcp-connect")
    x.add_argument("target")
    x.add_argument("--timeout", type=float, default=3.0)
    x.add_argument("--data", default="")
    x.add_argument("--retry", action="store_true")
    x = sub.add_parser("relay")
    x.add_argument("port", type=int)
    x.add_argument("target")
    x.add_argument("--bind", default="")
    x.add_argument("--delay-ms", type=float, default=0)
    x.add_argument("--jitter-ms", type=float, default=0)
    x.add_argument("--loss", type=float, default=0)
    x.add_argument("--seed", type=int, default=None)
    x.add_argument("--max-seconds", type=float, default=600)
    x = sub.add_parser("tcp-relay")
    x.add_argument("port", type=int)
    x.add_argument("target")
    x.add_argument("--bind", default="")
    x.add_argument("--delay-ms", type=float, default=0)
    x.add_argument("--max-seconds", type=float, default=3600)
    a = p.parse_args(argv)
    {"stun": cmd_stun, "echo": cmd_echo, "probe": cmd_probe, "sink": cmd_sink,
     "send": cmd_send, "tcp-listen": cmd_tcp_listen,
     "tcp-connect": cmd_tcp_connect, "relay": cmd_relay,
     "tcp-relay": cmd_tcp_relay}[a.cmd](a)


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""A small internet inside the test container, which nspawn gives a network
namespace of its own (--private-network): nothing sent here leaves it.

  netlab.py bridge
      Two tun devices, l4m0 here and l4m1 in the network namespace "far"
      (ip netns add far), and a relay copying packets between them: a wire
      between two real network stacks, so TCP, UDP and DNS work end to end.
  netlab.py serve NAME
      On every address of its namespace: TCP ports 80 and 8080 answer
      "NAME\\n" and close; UDP port 53 answers every A query with 9.9.9.9 and
      every AAAA query with 2620:fe::fe (a resolver for the sandbox, whose
      resolv.conf names 9.9.9.9).

Run both as transient units (systemd-run); tests/e2e/test_network.py sets
up the addresses and routes around them.
"""

import ctypes
import fcntl
import os
import select
import socket
import struct
import sys
import threading

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def bridge():
    near = tun("l4m0")
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/run/netns/far") as ns:
        if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns far")
    far = tun("l4m1")
    other = {near: far, far: near}
    while True:
        ready, _, _ = select.select([near, far], [], [])
        for fd in ready:
            packet = os.read(fd, 65536)
            try:
                os.write(other[fd], packet)
            except OSError:
                pass  # the other end is down (not set up yet): the wire drops it


def answer_tcp(family, port, name):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    s.listen(16)
    while True:
        conn, _ = s.accept()
        with conn:
            conn.sendall(name.encode() + b"\n")


def dns_reply(query):
    ident, _flags, qdcount = struct.unpack("!HHH", query[:6])
    if qdcount != 1:
        return None
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    qtype, _qclass = struct.unpack("!HH", query[end + 1:end + 5])
    question = query[12:end + 5]
    rdata = {1: socket.inet_pton(socket.AF_INET, "9.9.9.9"),
             28: socket.inet_pton(socket.AF_INET6, "2620:fe::fe")}.get(qtype)
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, 1 if rdata else 0, 0, 0)
    answer = b""
    if rdata:
        answer = struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(rdata)) + rdata
    return header + question + answer


def answer_dns(family):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 53))
    while True:
        query, peer = s.recvfrom(512)
        try:
            reply = dns_reply(query)
        except (IndexError, struct.error):
            reply = None
        if reply:
            s.sendto(reply, peer)


def serve(name):
    threads = [threading.Thread(target=answer_tcp, args=(f, p, name), daemon=True)
               for f in (socket.AF_INET, socket.AF_INET6) for p in (80, 8080)]
    threads += [threading.Thread(target=answer_dns, args=(f,), daemon=True)
                for f in (socket.AF_INET, socket.AF_INET6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    if sys.argv[1:2] == ["bridge"]:
        bridge()
    elif sys.argv[1:2] == ["serve"] and len(sys.argv) == 3:
        serve(sys.argv[2])
    else:
        sys.exit(__doc__)

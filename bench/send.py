#!/usr/bin/env python3
"""Sends N POSTs over C keep-alive connections (one thread each), as fast as the server
answers; exits non-zero if any answer is not 200 (or, with EXPECT set, not that body). Used
by bench/instructions.sh, where the server runs under callgrind and wrk's fixed duration
would make counts vary.

    send.py HOST:PORT PATH CONTENT-TYPE BODY N [C=4]

BODY is the body of every request, or `@FILE`: one body per line, each sent once (dialog
states are single-use), N at most the number of lines.
"""
import http.client
import os
import sys
import threading

host, path, ctype, body, n = sys.argv[1:6]
n, conns = int(n), int(sys.argv[6]) if len(sys.argv) > 6 else 4
host, port = host.rsplit(":", 1)
if body.startswith("@"):
    bodies = [line.rstrip("\n").encode() for line in open(body[1:])]
    if len(bodies) < n:
        sys.exit(f"{body[1:]} holds {len(bodies)} bodies, fewer than the {n} requests")
else:
    bodies = [body.encode()] * n
expect = os.environ.get("EXPECT") or None
failed = []


def worker(first, count):
    c = http.client.HTTPConnection(host, int(port), timeout=120)
    for i in range(first, first + count):
        c.request("POST", path, bodies[i], {"Content-Type": ctype})
        r = c.getresponse()
        answer = r.read()
        if r.status != 200:
            failed.append(f"status {r.status}")
        elif expect is not None and answer.decode(errors="replace") != expect:
            failed.append(answer.decode(errors="replace"))
    c.close()


counts = [n // conns + (i < n % conns) for i in range(conns)]
firsts = [sum(counts[:i]) for i in range(conns)]
threads = [threading.Thread(target=worker, args=(firsts[i], counts[i])) for i in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failed:
    sys.exit(f"{len(failed)} answers were not as expected (first: {failed[0]})")

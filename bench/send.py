#!/usr/bin/env python3
"""Sends N identical POSTs over C keep-alive connections (one thread each), as fast as the
server answers; exits non-zero if any answer is not 200. Used by bench/instructions.sh, where
the server runs under callgrind and wrk's fixed duration would make counts vary.

    send.py HOST:PORT PATH CONTENT-TYPE BODY N [C=4]
"""
import http.client
import sys
import threading

host, path, ctype, body, n = sys.argv[1:6]
n, conns = int(n), int(sys.argv[6]) if len(sys.argv) > 6 else 4
host, port = host.rsplit(":", 1)
body = body.encode()
failed = []


def worker(count):
    c = http.client.HTTPConnection(host, int(port), timeout=120)
    for _ in range(count):
        c.request("POST", path, body, {"Content-Type": ctype})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            failed.append(r.status)
    c.close()


threads = [threading.Thread(target=worker, args=(n // conns + (i < n % conns),)) for i in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failed:
    sys.exit(f"{len(failed)} answers were not 200 (first: {failed[0]})")

"""One wrk run as a JSON line: bench/wrk_result.py OUT ROUND SCENARIO SIDE UPSTREAM_CALLS."""
import json
import re
import sys

out, rnd, scenario, side, calls = sys.argv[1:]
text = open(out).read()


def seconds(value, unit):
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def latency(pct):
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    return seconds(*m.groups()) if m else None


requests = int(re.search(r"(\d+) requests in", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
socket = re.search(r"Socket errors: (.*)", text)
print(json.dumps({
    "round": int(rnd), "scenario": scenario, "side": side,
    "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
    "p50": latency(50), "p99": latency(99), "requests": requests,
    "upstream_per_request": int(calls) / max(requests, 1),
    "non_2xx": int(errors.group(1)) if errors else 0,
    "socket_errors": socket.group(1) if socket else "",
}))

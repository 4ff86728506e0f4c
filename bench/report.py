"""The bench table from bench/run.sh's results (one JSON line per wrk run)."""
import json
import statistics
import sys

results, sb_idle, sb_load, min_idle, min_load, log_bytes = sys.argv[1:]
runs = [json.loads(line) for line in open(results)]
targets = {"s1": 0.90, "s2": 0.85, "s3": 0.90}
print("| scenario | ratio (median of rounds) | target | rounds | req/s switchboard / minimal "
      "| p50 ms sb / min | p99 ms sb / min | p99 ×min | upstream calls/req sb / min | non-2xx sb / min |")
print("|---|---|---|---|---|---|---|---|---|---|")
for s in ("s1", "s2", "s3"):
    def side(name):
        return {r["round"]: r for r in runs if r["scenario"] == s and r["side"] == name}
    sb, mn = side("switchboard"), side("minimal")
    rounds = sorted(set(sb) & set(mn))
    if not rounds:  # not run (BENCH_SCENARIOS)
        continue
    ratios = [sb[r]["rps"] / mn[r]["rps"] for r in rounds]
    med = lambda d, k: statistics.median(d[r][k] for r in rounds)
    p99 = med(sb, "p99") / med(mn, "p99")
    print(f"| {s.upper()} | **{statistics.median(ratios):.2f}** | ≥ {targets[s]:.2f} "
          f"| {' '.join(f'{x:.2f}' for x in ratios)} "
          f"| {med(sb, 'rps'):.0f} / {med(mn, 'rps'):.0f} "
          f"| {med(sb, 'p50') * 1e3:.2f} / {med(mn, 'p50') * 1e3:.2f} "
          f"| {med(sb, 'p99') * 1e3:.2f} / {med(mn, 'p99') * 1e3:.2f} | {p99:.2f} "
          f"| {med(sb, 'upstream_per_request'):.2f} / {med(mn, 'upstream_per_request'):.2f} "
          f"| {sum(sb[r]['non_2xx'] for r in rounds)} / {sum(mn[r]['non_2xx'] for r in rounds)} |")
mib = lambda kib: int(kib) / 1024
print()
print(f"RSS (MiB) idle / after load: switchboard {mib(sb_idle):.1f} / {mib(sb_load):.1f}, "
      f"minimal {mib(min_idle):.1f} / {mib(min_load):.1f}; "
      f"switchboard's log: {int(log_bytes) / 1e6:.1f} MB")

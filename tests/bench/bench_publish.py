"""Benchmark: publishing the analyst share from a database with the full history.

Not collected by pytest. Run from the repository root on a scored database (ingest,
train, fixtures load, score), e.g. the one the README's commands build:

    uv run python tests/bench/bench_publish.py /tmp/a.duckdb [--repeat 3]

Measures, each in a fresh process so every publish pays its own start-up of DuckDB,
the first publish (everything is new) and a second one of the same state (the cost of
finding out that nothing is new; a daily run changes only predictions and runs) for
the snapshot and for a DuckLake with a SQLite catalog. Medians and peak memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PUBLISH = """
import json, resource, sys, time
from pathlib import Path
from acebet import share
db, target, data = Path(sys.argv[1]), sys.argv[2], sys.argv[3] or None
t = time.perf_counter()
summary = share.publish(db, share.resolve(db, target, data))
print(json.dumps({"seconds": time.perf_counter() - t, "rows": summary.rows,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(db: Path, target: str, data: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", PUBLISH, str(db), target, data],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"snapshot, first": [], "snapshot, unchanged": [],
                                      "lake, first": [], "lake, unchanged": []}
    with tempfile.TemporaryDirectory(dir=args.db.parent) as tmp:
        for i in range(args.repeat):
            snapshot = str(Path(tmp) / f"s{i}.analytics.duckdb")
            results["snapshot, first"].append(run(args.db, snapshot))
            results["snapshot, unchanged"].append(run(args.db, snapshot))
            catalog = f"ducklake:sqlite:{Path(tmp) / f'lake{i}.sqlite'}"
            data = str(Path(tmp) / f"lake{i}")
            results["lake, first"].append(run(args.db, catalog, data))
            results["lake, unchanged"].append(run(args.db, catalog, data))
    rows = results["snapshot, first"][0]["rows"]
    print(f"{args.db}: {rows['matches']:,} matches, {rows['predictions']:,} predictions")
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rss = max(r["rss_mib"] for r in runs)
        print(f"{name:20} {seconds:6.2f} s   peak {rss:,.0f} MiB")


if __name__ == "__main__":
    main()

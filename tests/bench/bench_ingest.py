"""Benchmark: a full `acebet ingest` of the shared history against DuckDB's own floor.

Not collected by pytest. Run from the repository root:

    uv run python tests/bench/bench_ingest.py [../shared/data/tennis_atp] [--repeat 3]

The floor is DuckDB's `read_csv` of the same match and player files into tables, with
no validation. Both run in fresh processes, alternating, so noise hits both alike;
medians and their ratio are printed with each side's peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

FLOOR = """
import duckdb, glob, json, resource, sys, time
folder, db = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(folder + "/atp_matches_*.csv"))
t = time.perf_counter()
con = duckdb.connect(db)
con.execute("CREATE TABLE matches AS SELECT * FROM read_csv(?, union_by_name=true)", [files])
con.execute("CREATE TABLE players AS SELECT * FROM read_csv(?)", [folder + "/atp_players.csv"])
con.close()
print(json.dumps({"seconds": time.perf_counter() - t,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

ACEBET = """
import json, resource, sys, time
from acebet import ingest, store
folder, db = sys.argv[1], sys.argv[2]
t = time.perf_counter()
con = store.connect(db)
summary = ingest.ingest(con, folder)
con.close()
print(json.dumps({"seconds": time.perf_counter() - t, "rows": summary.inserted,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, folder: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", code, str(folder), str(Path(tmp) / "bench.duckdb")],
            check=True, capture_output=True, text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="../shared/data/tennis_atp", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run(FLOOR, args.folder)  # warm the page cache so neither side pays for the first read
    floor, acebet = [], []
    for _ in range(args.repeat):
        floor.append(run(FLOOR, args.folder))
        acebet.append(run(ACEBET, args.folder))
    f = statistics.median(r["seconds"] for r in floor)
    a = statistics.median(r["seconds"] for r in acebet)
    print(f"rows ingested:            {acebet[0]['rows']:,}")
    f_mib = max(r["rss_mib"] for r in floor)
    a_mib = max(r["rss_mib"] for r in acebet)
    print(f"duckdb read_csv floor:    {f:6.2f} s  (peak {f_mib:,.0f} MiB)")
    print(f"acebet ingest:            {a:6.2f} s  (peak {a_mib:,.0f} MiB)")
    print(f"ratio ingest / floor:     {a / f:6.2f}  (median of {args.repeat})")


if __name__ == "__main__":
    main()

"""Benchmark: the feature pass over the full history and one `train`, with peak memory.

Not collected by pytest. Needs a database with the history ingested:

    uv run acebet --db /tmp/a.duckdb ingest ../shared/data/tennis_atp
    uv run python tests/bench/bench_model.py /tmp/a.duckdb [--repeat 3]

The feature pass is timed in parts (load, timeline, Elo loop, Polars history features,
player facts) over `--repeat` runs and reported as medians; `train` runs once in a
fresh copy of the database so the source file is not changed.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from acebet import features as F
from acebet import model as M
from acebet import store


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    con = store.connect(args.db, read_only=True)
    parts: dict[str, list[float]] = {}

    def timed(name: str, fn, *args):  # noqa: ANN001, ANN002, ANN202
        start = time.perf_counter()
        value = fn(*args)
        parts.setdefault(name, []).append(time.perf_counter() - start)
        return value

    for _ in range(args.repeat):
        matches = timed("load matches", F.load_matches, con)
        players = timed("load players", F.load_players, con)
        rows = timed("timeline", F.timeline, matches)
        timed("elo pass (python loop)", F.elo_pass, rows)
        timed("history features (polars)", F.history_features, rows)
        timed("player features", F.player_features, rows, players)
        timed("whole build()", F.build, rows, players)
    con.close()
    print(f"matches: {matches.height:,}")
    for name, values in parts.items():
        print(f"{name:28} {statistics.median(values):7.2f} s  (median of {len(values)})")
    print(f"peak memory after features: {peak_mib():,.0f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench.duckdb"
        shutil.copy(args.db, copy)
        con = store.connect(copy)
        start = time.perf_counter()
        version, fitted = M.train(con)
        seconds = time.perf_counter() - start
        con.close()
    print(f"train (features + early-stopped fit + refit): {seconds:7.2f} s, "
          f"{fitted.metadata['params']['n_estimators']} trees, "
          f"{fitted.metadata['train_rows']:,} matches")
    print(f"peak memory after train: {peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()

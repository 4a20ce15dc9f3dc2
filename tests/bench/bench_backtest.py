"""Benchmark: a walk-forward backtest with monthly retraining, wall and CPU time.

Not collected by pytest. Needs a database with the history ingested:

    uv run acebet --db /tmp/a.duckdb ingest ../shared/data/tennis_atp
    nice -n 10 uv run python tests/bench/bench_backtest.py /tmp/a.duckdb \\
        --from 2021-01-01 --to 2022-12-31 --odds ../shared/data/tennis_data_odds

Runs in a copy of the database (a backtest stores its predictions). CPU time is printed
beside wall time because the machine is shared: CPU seconds are what the code costs, wall
seconds what the user waited under the load of the moment (the load average is printed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from acebet import backtest, store


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--from", dest="date_from", type=dt.date.fromisoformat,
                        default=dt.date(2021, 1, 1))
    parser.add_argument("--to", dest="date_to", type=dt.date.fromisoformat,
                        default=dt.date(2022, 12, 31))
    parser.add_argument("--retrain", default="monthly")
    parser.add_argument("--odds", type=Path)
    args = parser.parse_args()
    marks: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench.duckdb"
        shutil.copy(args.db, copy)
        con = store.connect(copy)
        load_before = os.getloadavg()[0]
        wall0, cpu0 = time.perf_counter(), cpu_seconds()

        def on_period(lo: dt.date, n: int) -> None:
            marks.append((str(lo), time.perf_counter() - wall0, cpu_seconds() - cpu0))

        result = backtest.evaluate(con, args.date_from, args.date_to, retrain=args.retrain,
                                   odds_dir=args.odds, on_period=on_period)
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        con.close()
    print(f"periods: {len(marks)}, predictions: {result.predictions.height:,}")
    if marks:
        print(f"until the first period is scored (features, odds, first fit): "
              f"wall {marks[0][1]:7.1f} s  cpu {marks[0][2]:7.1f} s")
        per = [(b[1] - a[1], b[2] - a[2]) for a, b in zip(marks, marks[1:], strict=False)]
        if per:
            print(f"each later period (refit + predict), mean: "
                  f"wall {sum(w for w, _ in per) / len(per):7.1f} s  "
                  f"cpu {sum(c for _, c in per) / len(per):7.1f} s")
    print(f"whole backtest: wall {wall:7.1f} s  cpu {cpu:7.1f} s  "
          f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)")
    allrows = result.metrics.filter(result.metrics["subset"] == "with_pinnacle")
    for row in allrows.iter_rows(named=True):
        print(f"with_pinnacle {row['model']:11} n={row['n']} log loss {row['log_loss']:.4f}")


if __name__ == "__main__":
    main()

"""Benchmark: `acebet score` as a whole process against its floor, at three sizes.

Not collected by pytest. Needs a database with the history ingested and a model:

    uv run acebet --db /tmp/a.duckdb ingest ../shared/data/tennis_atp
    uv run acebet --db /tmp/a.duckdb train
    uv run python tests/bench/bench_score.py /tmp/a.duckdb --sizes 1000,100000,1000000

For each size, synthetic fixtures (random pairs of players with history, dated after
the history) are loaded into a copy of the database; then, in fresh processes:
  - `acebet score`, timed end to end, with its peak memory, with publishing off: the
    analyst share it refreshes afterwards is `bench_publish.py`'s (here every copy would
    publish from scratch, a second or two and 200 MiB no daily run pays);
  - the floor: read the fixtures from DuckDB, `predict_proba` (both orientations, as
    the symmetric model needs) on feature matrices prepared beforehand, insert the
    results into a table;
  - process start-up: `python -m acebet --help`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

FLOOR = """
import sys, numpy as np, duckdb, polars as pl, lightgbm as lgb
from acebet import model as M
db, ab_path, ba_path = sys.argv[1:4]
con = duckdb.connect(db)
text, meta = con.execute("SELECT model_text, metadata::VARCHAR FROM models "
                         "WHERE is_active").fetchall()[0]
fixtures = pl.DataFrame(con.sql("SELECT fixture_id, p1_id, p2_id FROM fixtures"))
import json
meta = json.loads(meta)
model = M.TrainedModel(lgb.Booster(model_str=text), meta["temperature"], meta)
ab, ba = np.load(ab_path), np.load(ba_path)
p = M.symmetric_probability(model.margin(ab), model.margin(ba), model.temperature)
out = fixtures.with_columns(pl.Series("p1_win_prob", p))
from acebet.store import register_frame
register_frame(con, "out", out)
con.execute("CREATE TABLE floor_predictions AS SELECT * FROM out")
con.close()
"""


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of a child process.

    Linux carries a forking parent's memory high-water mark into its child, so the child
    is started through GNU time, a small process, to get the child's own peak.
    """
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, **(env or {})})
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{args} failed: {proc.stderr.decode()[-2000:]}")
        return seconds, int(report.read().split()[-1]) / 1024


def make_fixtures(db: Path, n: int, out: Path) -> None:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    ids = [r[0] for r in con.execute(
        "SELECT winner_id FROM matches WHERE tourney_date >= DATE '2020-01-01' "
        "GROUP BY 1 HAVING count(*) >= 5").fetchall()]
    end = con.execute("SELECT max(tourney_date) FROM matches").fetchall()[0][0]
    con.close()
    rng = np.random.default_rng(n)
    p1 = rng.choice(ids, n)
    p2 = rng.choice(ids, n)
    clash = p1 == p2
    p2[clash] = [ids[(ids.index(x) + 1) % len(ids)] for x in p1[clash]]
    days = rng.integers(1, 60, n)
    pl.DataFrame({
        "fixture_id": [f"bench-{i}" for i in range(n)],
        "tourney_date": [end + dt.timedelta(days=int(d)) for d in days],
        "tourney_name": "Bench Open", "surface": rng.choice(["Hard", "Clay", "Grass"], n),
        "tourney_level": rng.choice(["A", "M", "G"], n), "round": "R32",
        "best_of": 3, "p1_id": p1, "p2_id": p2,
    }).write_parquet(out)


def warm_snapshot(db: Path) -> None:
    """As after `acebet train`: the end-of-history snapshot is stored (untimed)."""
    from acebet import snapshots, store

    con = store.connect(db)
    snapshot = snapshots.build_if_stale(con)
    if snapshot is not None:
        snapshots.store(con, snapshot)
    con.close()


def prepared_matrices(db: Path, ab: Path, ba: Path) -> None:
    """The floor's 'ready features', computed (untimed) with AceBet's own code."""
    from acebet import features as F
    from acebet import model, scoring, store
    from acebet.features import market as FM
    from acebet.model import matrix

    con = store.connect(db, read_only=True)
    _, fitted = model.load(con)
    fixtures = store.query_frame(con, "SELECT * FROM fixtures ORDER BY fixture_id")
    feats = F.build(F.timeline(F.load_matches(con), scoring.fixture_rows(fixtures)),
                    F.load_players(con), market=F.load_market(con) if fitted.uses_market
                    else None, market_k=FM.MARKET_K).filter(pl.col("is_fixture"))
    con.close()
    columns = fitted.features  # the market rating's inputs too, for a model that takes it
    np.save(ab, matrix.model_matrix(feats).select(columns).to_numpy())
    np.save(ba, matrix.model_matrix(feats, swap=True).select(columns).to_numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median)")
    args = parser.parse_args()
    py = sys.executable
    startup = sorted(run([py, "-m", "acebet", "--help"])[0] for _ in range(5))[2]
    imports = sorted(run([py, "-c", "import acebet.cli, acebet.scoring"])[0]
                     for _ in range(5))[2]
    print(f"process start-up: `acebet --help` {startup:.2f} s, importing the scoring code "
          f"{imports:.2f} s (medians of 5)")
    print(f"{'fixtures':>10} {'load s':>8} {'score s':>8} {'floor s':>8} {'ratio':>6} "
          f"{'score MiB':>10} {'floor MiB':>10} {'fixtures/s':>11}")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            file = tmp / "fixtures.parquet"
            make_fixtures(args.db, n, file)
            base = tmp / "base.duckdb"
            shutil.copy(args.db, base)
            load_s, _ = run([py, "-m", "acebet", "--db", str(base), "fixtures", "load",
                             str(file)])
            warm_snapshot(base)
            prepared_matrices(base, tmp / "ab.npy", tmp / "ba.npy")
            scores, floors = [], []
            for _ in range(args.repeat):
                for kind, bucket in (("score", scores), ("floor", floors)):
                    db = tmp / f"{kind}.duckdb"
                    shutil.copy(base, db)
                    if kind == "score":
                        bucket.append(run([py, "-m", "acebet", "--db", str(db), "score",
                                           "--max-history-age", "0"],  # dated after the history
                                          env={"ACEBET_PUBLISH": "none"}))
                    else:
                        bucket.append(run([py, "-c", FLOOR, str(db), str(tmp / "ab.npy"),
                                           str(tmp / "ba.npy")]))
                    db.unlink()
            s = sorted(x[0] for x in scores)[len(scores) // 2]
            f = sorted(x[0] for x in floors)[len(floors) // 2]
            print(f"{n:>10,} {load_s:>8.2f} {s:>8.2f} {f:>8.2f} {s / f:>6.2f} "
                  f"{max(x[1] for x in scores):>10,.0f} {max(x[1] for x in floors):>10,.0f} "
                  f"{n / s:>11,.0f}")


if __name__ == "__main__":
    main()

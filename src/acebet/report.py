"""`acebet report`: one self-contained HTML page for analysts and operators.

It shows how well the model forecasts (a reliability diagram; log loss and accuracy
month by month against the Elo and ranking baselines and the market, from the latest
backtest and from settled live predictions) and how the latest scoring run went. The
plots are PNGs embedded in the page, so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from acebet import metrics
from acebet.errors import InputError
from acebet.store import query_frame

SERIES = {"p1_win_prob": "AceBet", "elo_prob": "Elo", "rank_prob": "Ranking",
          "pinnacle_prob": "Pinnacle (market)"}
COLOURS = {"AceBet": "#c0392b", "Elo": "#2471a3", "Ranking": "#7f8c8d",
           "Pinnacle (market)": "#229954"}


def _figure():  # noqa: ANN202 - matplotlib types
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:  # noqa: ANN001
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _figure().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def reliability_plot(frame: pl.DataFrame, columns: dict[str, str], title: str) -> str:
    """Predicted vs observed win rate in ten bins, seen from the lower player id."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", label="perfect")
    y = (frame["winner_id"] == frame["p1_id"]).cast(pl.Float64).to_numpy()
    for col, name in columns.items():
        if col not in frame.columns:
            continue
        keep = frame[col].is_not_null().to_numpy()
        p = frame[col].to_numpy()[keep].astype(float)
        if len(p) == 0:
            continue
        bins = np.clip((p * 10).astype(int), 0, 9)
        xs = [p[bins == b].mean() for b in range(10) if (bins == b).any()]
        ys = [y[keep][bins == b].mean() for b in range(10) if (bins == b).any()]
        ax.plot(xs, ys, marker="o", color=COLOURS.get(name), label=f"{name} "
                f"(ECE {metrics.ece(p, y[keep]):.3f})")
    ax.set(xlabel="predicted probability", ylabel="observed frequency", xlim=(0, 1),
           ylim=(0, 1), title=title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def monthly_plot(frame: pl.DataFrame, columns: dict[str, str], title: str) -> str:
    """Log loss and accuracy per month for each forecaster, on the same matches."""
    plt = _figure()
    data = frame.with_columns(
        (pl.col("winner_id") == pl.col("p1_id")).cast(pl.Float64).alias("_y"),
        pl.col("tourney_date").dt.truncate("1mo").alias("_month"),
    )
    present = [c for c in columns if c in data.columns]
    if "pinnacle_prob" in present:  # compare like with like where the market is known
        data = data.filter(pl.col("pinnacle_prob").is_not_null())
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for col in present:
        name = columns[col]
        rows = []
        for (month,), part in data.sort("_month").group_by("_month", maintain_order=True):
            p, y = part[col].to_numpy().astype(float), part["_y"].to_numpy()
            rows.append((month, metrics.log_loss(p, y), metrics.accuracy(p, y)))
        months = [r[0] for r in rows]
        top.plot(months, [r[1] for r in rows], marker=".", color=COLOURS.get(name), label=name)
        bottom.plot(months, [r[2] for r in rows], marker=".", color=COLOURS.get(name),
                    label=name)
    top.set(ylabel="log loss (lower is better)", title=title)
    bottom.set(ylabel="accuracy")
    top.legend(fontsize=8, ncol=4)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _png(fig)


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = []
        for v in row:
            text = f"{v:.4f}" if isinstance(v, float) else ("" if v is None else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def build(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write `report.html` into `out_dir` and return its path."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: not a folder")
    try:  # first, so an unusable folder fails before the plots are drawn
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot create the folder: "
                         f"{exc.strerror or exc}") from None
    sections = [f"<h1>AceBet report</h1><p class=meta>generated "
                f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC</p>"]
    sections.append(_run_section(con))
    sections.append(_backtest_section(con))
    sections.append(_live_section(con))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AceBet report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px;
       color: #222; background: #fff; }}
h1 {{ color: #c0392b; }} h2 {{ border-bottom: 2px solid #eee; padding-bottom: .3rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: .85rem; }}
th, td {{ border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }}
td:first-child {{ text-align: left; }}
th {{ background: #f6f6f6; }} .meta {{ color: #777; }} img {{ max-width: 100%; }}
.plots {{ display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }}
</style></head><body>
{''.join(sections)}
</body></html>
"""
    path = out_dir / "report.html"
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot write report.html: "
                         f"{exc.strerror or exc}") from None
    return path


def _run_section(con: duckdb.DuckDBPyConnection) -> str:
    runs = query_frame(con, "SELECT strftime(started_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') "
                            "AS started, "
                            "status, round(seconds, 1) AS seconds, model_version AS model, "
                            "fixtures_seen AS fixtures, predictions_written AS written, "
                            "cold_start, error FROM run_history LIMIT 5")
    models = query_frame(con, "SELECT model_version, train_to, "
                              "metadata->>'$.validation.log_loss' AS val_log_loss "
                              "FROM models WHERE is_active")
    parts = ["<h2>Latest scoring runs</h2>"]
    if runs.height:
        last = runs.row(0, named=True)
        parts.append(f"<p>Last run, started {html.escape(str(last['started']))} UTC: "
                     f"<b>{html.escape(last['status'])}</b>, "
                     f"{last['written'] or 0} predictions written.</p>")
        parts.append(_table(runs))
    else:
        parts.append("<p>No scoring runs yet (<code>acebet score</code>).</p>")
    if models.height:
        parts.append("<p>Active model:</p>" + _table(models))
    return "".join(parts)


def _backtest_section(con: duckdb.DuckDBPyConnection) -> str:
    latest = con.execute("SELECT backtest_id, date_from, date_to, retrain FROM backtests "
                         "ORDER BY created_at DESC LIMIT 1").fetchall()
    if not latest:
        return ("<h2>Backtest</h2><p>No backtest stored yet: run <code>acebet backtest "
                "--from D --to D --odds DIR</code> to compare with the baselines.</p>")
    backtest_id, start, end, retrain = latest[0]
    frame = query_frame(con, "SELECT * FROM backtest_predictions WHERE backtest_id = ? "
                             "AND evaluated", [backtest_id])
    parts = [f"<h2>Backtest {start} to {end} (retrained {html.escape(retrain)})</h2>"]
    if frame.height == 0:
        return "".join(parts) + "<p>The backtest stored no evaluated matches.</p>"
    columns = {c: n for c, n in SERIES.items() if frame[c].is_not_null().any()}
    y = (frame["winner_id"] == frame["p1_id"]).cast(pl.Float64).to_numpy()
    rows = []
    subset = frame.filter(pl.col("pinnacle_prob").is_not_null()) \
        if "pinnacle_prob" in columns else frame
    ys = (subset["winner_id"] == subset["p1_id"]).cast(pl.Float64).to_numpy()
    for col, name in columns.items():
        rows.append({"forecaster": name, **metrics.summary(subset[col].to_numpy(), ys)})
    del y
    parts.append("<p>Tour-level main-draw matches" + (" with Pinnacle odds" if
                 "pinnacle_prob" in columns else "") + ":</p>")
    parts.append(_table(pl.DataFrame(rows)))
    parts.append('<div class="plots">')
    parts.append(f'<img alt="reliability diagram" src="{reliability_plot(frame, columns, "Reliability (backtest)")}">')  # noqa: E501
    parts.append(f'<img alt="log loss and accuracy by month" src="{monthly_plot(frame, columns, "By month (backtest)")}">')  # noqa: E501
    parts.append("</div>")
    return "".join(parts)


def _live_section(con: duckdb.DuckDBPyConnection) -> str:
    settled = query_frame(con, "SELECT tourney_date, p1_id, winner_id, p1_win_prob, "
                               "p1_market_prob AS pinnacle_prob FROM prediction_outcomes o "
                               "JOIN models m ON m.model_version = o.model_version "
                               "AND m.is_active WHERE settled")
    parts = ["<h2>Live predictions, settled</h2>"]
    if settled.height == 0:
        return "".join(parts) + ("<p>No settled predictions yet: they appear once the "
                                 "results of scored fixtures are ingested.</p>")
    perf = query_frame(con, "SELECT * FROM model_performance WHERE dimension = 'all'")
    parts.append(_table(perf))
    columns = {"p1_win_prob": "AceBet"}
    if settled["pinnacle_prob"].is_not_null().any():
        columns["pinnacle_prob"] = "Pinnacle (market)"
    parts.append('<div class="plots">')
    parts.append(f'<img alt="reliability diagram, live" src="{reliability_plot(settled, columns, "Reliability (live)")}">')  # noqa: E501
    parts.append("</div>")
    return "".join(parts)

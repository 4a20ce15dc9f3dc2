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
from matplotlib.dates import DateFormatter, MonthLocator
from matplotlib.figure import Figure

from acebet import metrics
from acebet.db import backtests as backtests_db
from acebet.db import models as models_db
from acebet.db import runs as runs_db
from acebet.errors import InputError

SERIES = {"p1_win_prob": "AceBet", "elo_prob": "Elo", "rank_prob": "Ranking",
          "pinnacle_prob": "Pinnacle (market)"}
COLOURS = {"AceBet": "#c0392b", "Elo": "#2471a3", "Ranking": "#7f8c8d",
           "Pinnacle (market)": "#229954"}


# A month with fewer settled matches than this is drawn hollow and labelled: its log loss
# and accuracy are mostly noise (the standard error of accuracy on 30 matches is ~0.09).
MIN_MONTH_MATCHES = 30
BINS = 10


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _img(alt: str, fig: Figure) -> str:
    return f'<img alt="{html.escape(alt)}" src="{_png(fig)}">'


def reliability_plot(frame: pl.DataFrame, columns: dict[str, str], title: str) -> Figure:
    """Predicted vs observed win rate in ten bins, seen from the lower player id, with the
    number of matches in each bin underneath (a bin of five matches proves nothing)."""
    fig = Figure(figsize=(5.5, 6.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", label="perfect")
    y = (frame["winner_id"] == frame["p1_id"]).cast(pl.Float64).to_numpy()
    width = 0.8 / BINS / max(len(columns), 1)
    for i, (col, name) in enumerate(columns.items()):
        if col not in frame.columns:
            continue
        keep = frame[col].is_not_null().to_numpy()
        p = frame[col].to_numpy()[keep].astype(float)
        if len(p) == 0:
            continue
        bins = metrics.calibration_bins(p, BINS)
        used = [b for b in range(BINS) if (bins == b).any()]
        xs = [p[bins == b].mean() for b in used]
        ys = [y[keep][bins == b].mean() for b in used]
        counts = [int((bins == b).sum()) for b in used]
        top.plot(xs, ys, marker="o", color=COLOURS.get(name), label=f"{name} "
                 f"(ECE {metrics.ece(p, y[keep], BINS):.3f}, n={len(p):,})")
        centres = [(b + 0.5) / BINS + (i - (len(columns) - 1) / 2) * width for b in used]
        bottom.bar(centres, counts, width=width, color=COLOURS.get(name), alpha=0.8)
        if i == 0:
            for x, n in zip(centres, counts, strict=True):
                bottom.annotate(f"{n:,}", (x, n), ha="center", va="bottom", fontsize=7)
    top.set(ylabel="observed frequency", xlim=(0, 1), ylim=(0, 1), title=title)
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    bottom.set(xlabel="predicted probability", ylabel="matches per bin")
    bottom.margins(y=0.25)
    bottom.grid(alpha=0.3)
    return fig


def monthly_plot(frame: pl.DataFrame, columns: dict[str, str], title: str) -> Figure:
    """Log loss and accuracy per month for each forecaster, on the same matches; months
    with fewer than MIN_MONTH_MATCHES matches are hollow and labelled with their count."""
    data = frame.with_columns(
        (pl.col("winner_id") == pl.col("p1_id")).cast(pl.Float64).alias("_y"),
        pl.col("tourney_date").dt.truncate("1mo").alias("_month"),
    )
    present = [c for c in columns if c in data.columns]
    if "pinnacle_prob" in present:  # compare like with like where the market is known
        data = data.filter(pl.col("pinnacle_prob").is_not_null())
    fig = Figure(figsize=(9, 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    few_months = False
    for col in present:
        name = columns[col]
        rows = []
        for (month,), part in data.sort("_month").group_by("_month", maintain_order=True):
            p, y = part[col].to_numpy().astype(float), part["_y"].to_numpy()
            rows.append((month, metrics.log_loss(p, y), metrics.accuracy(p, y), len(p)))
        months = [r[0] for r in rows]
        for ax, k in ((top, 1), (bottom, 2)):
            ax.plot(months, [r[k] for r in rows], color=COLOURS.get(name), label=name)
            few = [r for r in rows if r[3] < MIN_MONTH_MATCHES]
            enough = [r for r in rows if r[3] >= MIN_MONTH_MATCHES]
            ax.plot([r[0] for r in enough], [r[k] for r in enough], "o", markersize=4,
                    color=COLOURS.get(name))
            ax.plot([r[0] for r in few], [r[k] for r in few], "o", markersize=7,
                    markerfacecolor="white", color=COLOURS.get(name))
            if col == present[0]:
                for r in few:
                    ax.annotate(f"n={r[3]}", (r[0], r[k]), textcoords="offset points",
                                xytext=(0, 6), ha="center", fontsize=7, color="#555555")
            few_months = few_months or bool(few)
    top.set(ylabel="log loss (lower is better)", title=title)
    bottom.set(ylabel="accuracy")
    top.legend(fontsize=8, ncol=4)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    bottom.xaxis.set_major_locator(MonthLocator())
    bottom.xaxis.set_major_formatter(DateFormatter("%Y-%m"))
    fig.autofmt_xdate()
    if few_months:
        fig.text(0.5, 0.0, f"hollow points: months with fewer than {MIN_MONTH_MATCHES} "
                 "matches, too few to judge", ha="center", va="top", fontsize=8,
                 color="#555555")
    return fig


def distribution_plot(run: pl.DataFrame, title: str) -> Figure:
    """How confident the latest run was, and how far it disagreed with the market."""
    edges = run["edge"].drop_nulls().to_numpy().astype(float)
    fig = Figure(figsize=(9, 3.5))
    left, right = fig.subplots(1, 2)
    favourite = np.maximum(run["p1_win_prob"].to_numpy(), 1 - run["p1_win_prob"].to_numpy())
    left.hist(favourite, bins=np.linspace(0.5, 1.0, 11), color=COLOURS["AceBet"], alpha=0.85)
    left.set(xlabel="favourite's win probability", ylabel="fixtures",
             title=f"{title}: {len(favourite):,} predictions")
    if len(edges):
        right.hist(edges, bins=20, color="#8e44ad", alpha=0.85)
        right.axvline(0, color="#555555", linewidth=1)
        right.set(xlabel="edge: model − market probability (player 1)", ylabel="fixtures",
                  title=f"edges of the {len(edges):,} fixtures with odds")
    else:
        right.text(0.5, 0.5, "no odds in this run, so no edges", ha="center", va="center",
                   transform=right.transAxes, color="#555555")
        right.set(xticks=[], yticks=[])
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return fig


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
    sections.append(_latest_predictions_section(con))
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
    runs = runs_db.recent_runs(con, 5).select(
        _utc_minute(pl.col("started_at")).alias("started"), "status",
        pl.col("seconds").round(1), pl.col("model_version").alias("model"),
        pl.col("fixtures_seen").alias("fixtures"), pl.col("predictions_written").alias("written"),
        "cold_start", "error")
    models = models_db.summaries(con).filter(pl.col("is_active")).select(
        "model_version", "train_to", "val_log_loss")
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


def _utc_minute(when: pl.Expr) -> pl.Expr:
    """A run's start as operators read it next to logs: UTC, to the minute."""
    return when.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M")


def _latest_predictions_section(con: duckdb.DuckDBPyConnection) -> str:
    """The latest run that wrote predictions: how sure it was and where it saw value."""
    latest = runs_db.latest_productive_run(con)
    if latest is None:
        return ""
    run_id, started_at = latest
    started = f"{started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M}"
    run = runs_db.run_probabilities(con, run_id)
    if run.height == 0:  # every prediction of that run has been replaced since
        return ""
    return (f"<h2>Latest predictions</h2><p>Run {html.escape(run_id)}, started "
            f"{html.escape(started)} UTC.</p><div class=\"plots\">"
            + _img("probabilities and edges of the latest run",
                   distribution_plot(run, "latest run"))
            + "</div>")


def _backtest_section(con: duckdb.DuckDBPyConnection) -> str:
    latest = backtests_db.latest(con)
    if latest is None:
        return ("<h2>Backtest</h2><p>No backtest stored yet: run <code>acebet backtest "
                "--from D --to D --odds DIR</code> to compare with the baselines.</p>")
    backtest_id, start, end, retrain = latest
    frame = backtests_db.evaluated_predictions(con, backtest_id)
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
    parts.append(_img("reliability diagram", reliability_plot(frame, columns,
                                                               "Reliability (backtest)")))
    parts.append(_img("log loss and accuracy by month", monthly_plot(frame, columns,
                                                                     "By month (backtest)")))
    parts.append("</div>")
    return "".join(parts)


def _live_section(con: duckdb.DuckDBPyConnection) -> str:
    settled = runs_db.settled_active_outcomes(con)
    parts = ["<h2>Live predictions, settled</h2>"]
    if settled.height == 0:
        return "".join(parts) + ("<p>No settled predictions yet: they appear once the "
                                 "results of scored fixtures are ingested.</p>")
    perf = runs_db.overall_performance(con)
    parts.append(_table(perf))
    columns = {"p1_win_prob": "AceBet"}
    if settled["pinnacle_prob"].is_not_null().any():
        columns["pinnacle_prob"] = "Pinnacle (market)"
    parts.append('<div class="plots">')
    parts.append(_img("reliability diagram, live", reliability_plot(settled, columns,
                                                                     "Reliability (live)")))
    parts.append(_img("log loss and accuracy by month, live", monthly_plot(
        settled, columns, "By month (live, settled)")))
    parts.append("</div>")
    return "".join(parts)

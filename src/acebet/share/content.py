"""What analysts get: the tables they join to and the views over them.

The share is the same for the snapshot and the lake. Views are copied from the job's
database as DuckDB stores them (created there from `sql/views.sql`), so their
definition lives in one place.
"""

from __future__ import annotations

import duckdb

# Table -> the columns that identify a row. A lake publish replaces a row whose key
# is the same but whose content changed (a corrected match, a rescored fixture: its
# old prediction is in predictions_history, keyed by the run that made it).
TABLES: dict[str, tuple[str, ...]] = {
    "players": ("player_id",),
    "matches": ("tourney_id", "match_num"),
    "fixtures": ("fixture_id",),
    "fixture_rejects": ("load_id", "row_number"),
    "models": ("model_version",),
    "score_runs": ("run_id",),
    "predictions": ("fixture_id", "model_version"),
    "predictions_history": ("fixture_id", "model_version", "run_id", "archived_by_run"),
    "backtests": ("backtest_id",),
}

# Columns analysts never get: the model itself is the job's business.
HIDDEN_COLUMNS: dict[str, tuple[str, ...]] = {"models": ("model_text",)}

# In dependency order: model_performance reads prediction_outcomes.
VIEWS = ("latest_predictions", "prediction_outcomes", "model_performance", "run_history")


def select_list(table: str) -> str:
    """`*` or `* EXCLUDE (...)` for a table: a constant fragment from HIDDEN_COLUMNS."""
    hidden = HIDDEN_COLUMNS.get(table)
    return f"* EXCLUDE ({', '.join(hidden)})" if hidden else "*"


def view_definitions(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, str]:
    """The CREATE VIEW statement of every analyst view, as `database` holds it."""
    found = dict(con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = ? "
        "AND schema_name = 'main' AND NOT internal", [database]).fetchall())
    return {view: found[view] for view in VIEWS if view in found}

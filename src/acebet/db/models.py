"""The `models` table: stored model versions (LightGBM text, JSON metadata, checksums)
and which one is active.

`acebet.model` decides what goes in and checks what comes out; these functions only
move rows, so the rule "exactly one active version" is kept in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from acebet.store import query_frame, scalar, transaction


@dataclass(frozen=True)
class StoredModel:
    """One row as stored, before any check: `acebet.model.load` verifies it."""

    version: int
    text: str
    sha256: str
    metadata_json: str
    checksum: str | None


def insert(
    con: duckdb.DuckDBPyConnection, *, text: str, sha256: str, metadata_json: str,
    checksum: str, train_from: str | None, train_to: str | None,
    activate: bool,
) -> int:
    """Store a new version (one more than the highest) → its number.

    Numbering and activation happen in one transaction, so two trainings cannot take the
    same number and there is never more than one active version.
    """
    with transaction(con):
        version = int(scalar(con, "SELECT coalesce(max(model_version), 0) + 1 FROM models"))
        if activate:
            con.execute("UPDATE models SET is_active = false WHERE is_active")
        con.execute(
            "INSERT INTO models (model_version, created_at, is_active, train_from, train_to, "
            "model_text, model_sha256, metadata, checksum) VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)",
            [version, activate, train_from, train_to, text, sha256, metadata_json, checksum],
        )
    return version


def stored(con: duckdb.DuckDBPyConnection, version: int | None = None) -> StoredModel | None:
    """Version `version` (the active one when None) as stored, or None if there is none.

    The metadata comes back as the exact text the checksum was taken over.
    """
    rows = con.execute(
        """SELECT model_version, model_text, model_sha256, metadata::VARCHAR, checksum
           FROM models
           WHERE CASE WHEN ?::BIGINT IS NULL THEN is_active ELSE model_version = ?::BIGINT END
           ORDER BY model_version DESC LIMIT 1""",
        [version, version],
    ).fetchall()
    return StoredModel(*rows[0]) if rows else None


def summaries(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every version with its training window and validation metrics, oldest first, for
    choosing which one to activate (without reading the model texts)."""
    return query_frame(
        con,
        """SELECT model_version, is_active, created_at, train_to,
                  CAST(metadata->>'$.validation.log_loss' AS DOUBLE) AS val_log_loss,
                  CAST(metadata->>'$.validation.accuracy' AS DOUBLE) AS val_accuracy,
                  CAST(metadata->>'$.params.n_estimators' AS INTEGER) AS trees
           FROM models ORDER BY model_version""",
    )


def versions(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Every stored version number, ascending: what a user may activate."""
    return [int(r[0]) for r in con.execute(
        "SELECT model_version FROM models ORDER BY 1").fetchall()]


def set_active(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Make `version` the only active one in a single statement, so no reader ever sees
    two active versions or none."""
    con.execute("UPDATE models SET is_active = (model_version = ?)", [version])

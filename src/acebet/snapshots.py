"""Storing the end-of-history feature snapshot in the database (see features.Snapshot).

`train` refreshes it, `score` rebuilds it when the history has changed since, so the
daily run normally only looks fixtures up.
"""

from __future__ import annotations

import duckdb

from acebet import features as F
from acebet import progress
from acebet.db import feature_snapshots
from acebet.store import transaction


def load(con: duckdb.DuckDBPyConnection) -> F.Snapshot | None:
    """The stored snapshot if it matches the current history, else None."""
    fingerprint = F.history_fingerprint(con)
    parts = feature_snapshots.stored_parts(con, fingerprint)
    if not parts:
        return None
    return F.Snapshot.from_parts(fingerprint, parts)


def save(con: duckdb.DuckDBPyConnection, snapshot: F.Snapshot) -> None:
    """Replace any stored snapshot (call inside the caller's transaction)."""
    feature_snapshots.replace(con, snapshot.fingerprint, snapshot.to_parts())


def build_if_stale(con: duckdb.DuckDBPyConnection) -> F.Snapshot | None:
    """A new snapshot if the stored one is missing or stale, else None (only reads)."""
    if load(con) is not None:
        return None
    progress.step("rebuilding the end-of-history feature snapshot")
    return from_store(con)


def from_store(con: duckdb.DuckDBPyConnection) -> F.Snapshot:
    """A new snapshot of the stored history and odds."""
    return F.Snapshot.from_history(F.load_matches(con), F.history_fingerprint(con),
                                   market=F.load_market(con))


def store(con: duckdb.DuckDBPyConnection, snapshot: F.Snapshot) -> bool:
    """Save `snapshot` in its own transaction if it still describes the history; True if
    saved.

    `train` builds it on a copy of the history: an ingest and a score may have run since
    and stored a newer one, which an older snapshot must not replace.
    """
    with transaction(con):
        return save_if_current(con, snapshot)


def save_if_current(con: duckdb.DuckDBPyConnection, snapshot: F.Snapshot) -> bool:
    """`save` inside the caller's transaction, unless the history or the odds changed
    since `snapshot` was built (an ingest or `odds load` ran meanwhile): a stale snapshot
    is never read, but storing it would cost the next run a rebuild."""
    if snapshot.fingerprint != F.history_fingerprint(con):
        return False
    save(con, snapshot)
    return True

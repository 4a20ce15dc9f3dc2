"""DuckDB extensions from the installed wheels, never downloaded at run time.

The `duckdb-extension-*` packages carry DuckDB's signed extension binaries for one
DuckDB version (the reason duckdb is pinned). They are loaded by path with signature
checks left on, and auto-install is switched off so nothing is fetched behind our back.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

from acebet.errors import StoreError
from acebet.store import sql_literal

# Extension name -> the package that ships it (sqlite and postgres are the *_scanner builds:
# the file name must match the extension's entry point).
PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
}

# No implicit INSTALL from the network, no unsigned code.
CONFIG = {"autoinstall_known_extensions": False, "allow_unsigned_extensions": False}


def extension_file(name: str) -> Path:
    try:
        package = importlib.import_module(PACKAGES[name])
    except ImportError as exc:
        raise StoreError(f"DuckDB extension {name}: package {PACKAGES[name]} is not installed"
                         ) from exc
    path = (Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}"
            / f"{name}.duckdb_extension")
    if not path.is_file():
        raise StoreError(f"DuckDB extension {name}: no build for DuckDB {duckdb.__version__} "
                         f"in {path.parent.parent}")
    return path


def load(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Load the named extensions into `con` from their wheels (signature checked)."""
    loaded = {row[0] for row in con.execute(
        "SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()}
    for name in names:
        if name in loaded:
            continue
        literal = sql_literal(str(extension_file(name)))
        con.execute(f"LOAD {literal}")

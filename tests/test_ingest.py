"""`acebet ingest`: counts, idempotence, HTTP sources, selections, bad files and rows."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from acebet import ingest, store
from acebet.cli import main
from acebet.db import history
from tests.httpserver import serve_folder


def csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def match_files(folder: Path, pattern: str = "atp_matches_*.csv") -> list[Path]:
    return sorted(folder.glob(pattern))


def editable_copy(source: Path, tmp_path: Path) -> Path:
    """A copy of a source folder that a test may change."""
    return Path(shutil.copytree(source, tmp_path / "src"))


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    """Rows as `path`'s new content; their keys outside `header` are left out."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def run(db: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)


def counts(db: Path) -> dict[str, int]:
    con = store.connect(db, read_only=True)
    try:
        return store.table_counts(con)
    finally:
        con.close()


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "db"):
        assert command in result.output


def test_full_ingest_loads_every_row_and_rerun_inserts_nothing(
    atp_source: Path, ingested_db: Path, shared_data: Path | None, tmp_path: Path
) -> None:
    expected_matches = sum(csv_rows(p) for p in match_files(atp_source))
    expected_players = csv_rows(atp_source / "atp_players.csv")
    if shared_data is not None:  # the figures the data README promises
        assert expected_matches == 390_178

    # the first full ingest is the session's (`ingested_db`, through the same library call
    # the command makes); the command itself runs the second over a copy of it
    db = shutil.copy(ingested_db, tmp_path / "a.duckdb")
    assert counts(db)["matches"] == expected_matches
    assert counts(db)["players"] == expected_players

    second = run(db, "ingest", str(atp_source))
    assert second.exit_code == 0, second.output
    assert " 0 inserted, 0 updated" in second.output
    assert "players 0 inserted, 0 updated" in second.output
    assert counts(db)["matches"] == expected_matches


def test_ingest_over_http_gives_the_identical_table(
    atp_source: Path, ingested_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "http.duckdb"
    with serve_folder(atp_source) as base:
        result = run(db, "ingest", base)
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    con.execute(f"ATTACH '{ingested_db}' AS local (READ_ONLY)")
    for table in ("matches", "players"):
        only_http = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {table} EXCEPT SELECT * FROM local.{table})"
        ).fetchone()[0]
        only_local = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM local.{table} EXCEPT SELECT * FROM {table})"
        ).fetchone()[0]
        assert (only_http, only_local) == (0, 0), table
        assert (
            con.execute(f"SELECT count(*) FROM {table}").fetchone()
            == con.execute(f"SELECT count(*) FROM local.{table}").fetchone()
        )


def test_years_and_levels_select_exactly_those_files(atp_source: Path, tmp_path: Path) -> None:
    years = sorted(int(p.stem[-4:]) for p in match_files(atp_source, "atp_matches_[0-9]*.csv"))
    first, last = years[-3], years[-1]
    db = tmp_path / "y.duckdb"
    result = run(db, "ingest", str(atp_source), "--years", f"{first}-{last}", "--levels", "tour")
    assert result.exit_code == 0, result.output
    wanted = [atp_source / f"atp_matches_{y}.csv" for y in range(first, last + 1)]
    con = duckdb.connect(str(db), read_only=True)
    per_file = dict(con.execute("SELECT source_file, count(*) FROM matches GROUP BY 1").fetchall())
    assert per_file == {p.name: csv_rows(p) for p in wanted}


def test_missing_column_exits_2_naming_file_and_column_and_changes_nothing(
    synthetic_source: Path, tmp_path: Path
) -> None:
    folder = editable_copy(synthetic_source, tmp_path)
    db = tmp_path / "m.duckdb"
    assert run(db, "ingest", str(folder), "--years", "2019").exit_code == 0
    before = counts(db)
    broken = folder / "atp_matches_2020.csv"
    rows = read_rows(broken)
    write_rows(broken, [c for c in rows[0] if c != "winner_id"], rows)

    result = CliRunner().invoke(main, ["--db", str(db), "ingest", str(folder)])
    assert result.exit_code == 2
    assert "atp_matches_2020.csv" in result.output and "winner_id" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert counts(db) == before


def test_missing_season_file_exits_2(synthetic_source: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--db", str(tmp_path / "x.duckdb"), "ingest", str(synthetic_source),
               "--years", "1990"]
    )
    assert result.exit_code == 2
    assert "atp_matches_1990.csv" in result.output


def test_bad_rows_are_rejected_with_reasons_and_good_rows_land(
    synthetic_source: Path, tmp_path: Path
) -> None:
    folder = editable_copy(synthetic_source, tmp_path)
    path = folder / "atp_matches_2021.csv"
    rows = read_rows(path)
    header = list(rows[0])
    rows[0]["winner_id"] = ""
    rows[1]["tourney_date"] = "2021-13-45"
    rows[2]["best_of"] = "three"
    rows[4] = dict(rows[3])  # same (tourney_id, match_num) twice
    write_rows(path, header, rows)

    db = tmp_path / "b.duckdb"
    result = run(db, "ingest", str(folder), "--years", "2021", "--levels", "tour")
    assert result.exit_code == 0, result.output
    assert "4 rejected" in result.output
    con = duckdb.connect(str(db), read_only=True)
    rejects = con.execute(
        "SELECT line, reason FROM ingest_rejects WHERE source_file = ? ORDER BY line",
        [path.name],
    ).fetchall()
    assert [line for line, _ in rejects] == [2, 3, 4, 6]
    reasons = [reason for _, reason in rejects]
    assert reasons[0] == "winner_id is empty"
    assert reasons[1] == "tourney_date 2021-13-45 is not a YYYYMMDD date"
    assert reasons[2] == "best_of three is not an integer"
    assert reasons[3].startswith("duplicate tourney_id")
    assert con.execute("SELECT count(*) FROM matches").fetchone()[0] == len(rows) - 4
    # re-ingesting the same file replaces its rejects instead of adding them again
    con.close()
    run(db, "ingest", str(folder), "--years", "2021", "--levels", "tour")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM ingest_rejects").fetchone()[0] == 4


def test_corrected_season_updates_only_its_changed_rows(
    synthetic_source: Path, tmp_path: Path
) -> None:
    folder = editable_copy(synthetic_source, tmp_path)
    con = store.connect(tmp_path / "c.duckdb")
    ingest.ingest(con, str(folder))
    path = folder / "atp_matches_2022.csv"
    rows = read_rows(path)
    rows[0]["score"] = "7-5 7-5"
    extra = dict(rows[-1], match_num="999")
    write_rows(path, list(rows[0]), [*rows, extra])
    summary = ingest.ingest(con, str(folder))
    assert (summary.inserted, summary.updated) == (1, 1)
    score = con.execute(
        "SELECT score FROM matches WHERE tourney_id = ? AND match_num = ?",
        [rows[0]["tourney_id"], int(rows[0]["match_num"])],
    ).fetchone()[0]
    assert score == "7-5 7-5"


def test_a_failure_mid_write_leaves_the_database_as_it_was(
    synthetic_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "f.duckdb"
    con = store.connect(db)
    ingest.ingest(con, str(synthetic_source), years=(2019, 2019))
    before = store.table_counts(con)
    real_upsert = history.upsert_matches

    def upsert_then_fail(con, rows):  # noqa: ANN001, ANN202
        real_upsert(con, rows)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(history, "upsert_matches", upsert_then_fail)
    with pytest.raises(RuntimeError):
        ingest.ingest(con, str(synthetic_source))
    assert store.table_counts(con) == before


def test_parse_years_and_levels_reject_nonsense() -> None:
    assert ingest.parse_years("1990-2024") == (1990, 2024)
    assert ingest.parse_years("2022") == (2022, 2022)
    with pytest.raises(ingest.InputError):
        ingest.parse_years("2024-1990")
    with pytest.raises(ingest.InputError):
        ingest.parse_years("last year")
    with pytest.raises(ingest.InputError):
        ingest.parse_levels("tour,futures")

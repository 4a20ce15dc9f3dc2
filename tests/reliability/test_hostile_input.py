"""Hostile input: whatever is thrown at `fixtures load` and `ingest`, nothing crashes
with a traceback, every bad row is rejected with a reason and its file line, every good
row is kept, and what loads is plausible (dates the history can speak about, odds that
bookmakers quote)."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from acebet.cli import main
from tests.reliability.conftest import record

pytestmark = pytest.mark.reliability

NASTY = ["'; DROP TABLE fixtures; --", '" OR 1=1 --', "Robert'); DELETE FROM players;--",
         "NaN", "inf", "-inf", "1e309", "", " ", "\x00", "\u202e\u0645\u0631\u062d\u0628\u0627",
         "Ñoño Ça", "x" * 5000, "0001-01-01", "9999-12-31", "1900-02-29", "2023-02-30",
         "99999999999999999999999", "-1", "0", "3.5", "Hard;Clay", "R32\n", "\t", "🎾"]
FIELDS = ["tourney_date", "tourney_name", "surface", "tourney_level", "round", "best_of",
          "p1_id", "p2_id", "p1_name", "p2_name", "p1_odds", "p2_odds", "fixture_id"]
value = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                  st.integers(-10**12, 10**12).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr))
GOOD = {"tourney_date": "2021-01-11", "tourney_name": "Hostile Open", "surface": "Hard",
        "tourney_level": "A", "round": "R32", "best_of": "3", "p1_odds": "", "p2_odds": "",
        "p1_name": "", "p2_name": "", "fixture_id": ""}
STATS = {"rows": 0, "rejected": 0, "loaded": 0, "files": 0, "all_rejected_exit_2": 0,
         "not_utf8_refused": 0}


@pytest.fixture(scope="module", autouse=True)
def _record_figures():  # noqa: ANN202
    """Write the module's totals for RELIABILITY.md once every test in it has run."""
    yield
    record("hostile-input", **STATS, losses=0)


@pytest.fixture(scope="module")
def base(prepared: dict[str, Path]) -> tuple[Path, list[int]]:
    con = duckdb.connect(str(prepared["partial"]), read_only=True)
    ids = [r[0] for r in con.execute("SELECT player_id FROM players ORDER BY 1 LIMIT 10")
           .fetchall()]
    con.close()
    return prepared["partial"], ids


def _summary(output: str) -> dict[str, int]:
    m = re.search(r"(\d[\d,]*) rows, (\d[\d,]*) new, (\d[\d,]*) updated, (\d[\d,]*) unchanged,"
                  r" (\d[\d,]*) rejected", output)
    assert m, output
    rows, new, updated, unchanged, rejected = (int(g.replace(",", "")) for g in m.groups())
    return {"rows": rows, "new": new, "updated": updated, "unchanged": unchanged,
            "rejected": rejected}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(bad_rows=st.lists(st.dictionaries(st.sampled_from(FIELDS), value, min_size=1),
                         min_size=1, max_size=6),
       good_count=st.integers(0, 3))
def test_fixture_files_full_of_garbage(base, tmp_path_factory, bad_rows, good_count) -> None:  # noqa: ANN001
    db_src, ids = base
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "h.duckdb"
    shutil.copy(db_src, db)
    good = [dict(GOOD, p1_id=str(ids[i]), p2_id=str(ids[i + 5])) for i in range(good_count)]
    rows = [{**GOOD, "p1_id": str(ids[0]), "p2_id": str(ids[1]), **bad} for bad in bad_rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(good + rows)
    path = tmp / "fixtures.csv"
    data = buffer.getvalue().encode("utf-8", errors="surrogatepass")
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["--db", str(db), "fixtures", "load", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
              .fetchall()}
    players = con.execute("SELECT count(*) FROM players").fetchall()[0][0]
    fixtures = con.execute("SELECT count(*) FROM fixtures").fetchall()[0][0]
    rejects = con.execute("SELECT count(*) FROM fixture_rejects WHERE reason <> ''")\
        .fetchall()[0][0]
    loaded_pairs = {frozenset((str(a), str(b))) for a, b in
                    con.execute("SELECT p1_id, p2_id FROM fixtures").fetchall()}
    lines = [r[0] for r in con.execute("SELECT row_number FROM fixture_rejects").fetchall()]
    start, end = con.execute("SELECT min(tourney_date), max(tourney_date) FROM matches")\
        .fetchall()[0]
    loaded = con.execute("SELECT min(tourney_date), max(tourney_date), min(least(p1_odds, "
                         "p2_odds)), max(greatest(p1_odds, p2_odds)) FROM fixtures").fetchall()[0]
    con.close()
    assert {"fixtures", "players", "predictions"} <= tables and players > 0
    STATS["files"] += 1
    # a reject names a line of the file: past the header, not past the end
    # (lines as an editor counts them: a lone CR ends a line too, as in the loader)
    assert all(2 <= line <= len(data.splitlines()) + 1 for line in lines), lines
    # what loads is plausible
    if fixtures:
        first, last, low, high = loaded
        assert start <= first and (last - end).days <= 730
        assert low is None or (1.001 <= low and high <= 1000)
    if "is not utf-8" in result.output:  # lone surrogates: refused, with their line
        assert result.exit_code == 2 and re.search(r": line \d+, column \d+: byte", result.output)
        STATS["not_utf8_refused"] += 1
        return
    if result.exit_code == 2 and "rows rejected; nothing loaded" in result.output:
        # every row rejected: exit 2, the reasons kept, nothing loaded
        assert fixtures == 0 and rejects == len(good) + len(rows)
        STATS["all_rejected_exit_2"] += 1
        STATS["rows"] += rejects
        STATS["rejected"] += rejects
    if result.exit_code == 0:
        assert fixtures > 0  # exit 0 means something loaded
        s = _summary(result.output)
        # every row is accounted for: loaded (new/updated/unchanged) or rejected
        assert s["new"] + s["updated"] + s["unchanged"] + s["rejected"] == s["rows"]
        assert s["rejected"] == rejects and fixtures == s["new"]
        good_pairs = {frozenset((r["p1_id"], r["p2_id"])) for r in good}
        assert good_pairs <= loaded_pairs, "a valid row was not loaded"
        STATS["rows"] += s["rows"]
        STATS["rejected"] += s["rejected"]
        STATS["loaded"] += s["new"] + s["updated"] + s["unchanged"]


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=3000))
def test_files_that_are_not_csv_at_all(base, tmp_path_factory, data: bytes) -> None:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("binary")
    db = tmp / "b.duckdb"
    shutil.copy(base[0], db)
    for name in ("fixtures.csv", "fixtures.parquet"):
        path = tmp / name
        path.write_bytes(data)
        result = CliRunner().invoke(main, ["--db", str(db), "fixtures", "load", str(path)])
        assert result.exit_code in (0, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            repr(result.exception)
        if result.exit_code == 2:
            assert len(result.output.strip().splitlines()) == 1, result.output
    STATS["files"] += 2


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(min_codepoint=0xa0, max_codepoint=0xff),
                    min_size=1, max_size=12),
       line=st.integers(0, 4), encoding=st.sampled_from(["latin-1", "cp1252"]))
def test_files_in_another_encoding_are_refused_at_their_line_or_read_as_named(
    base, tmp_path_factory, text: str, line: int, encoding: str  # noqa: ANN001
) -> None:
    db_src, ids = base
    tmp = tmp_path_factory.mktemp("encoding")
    db = tmp / "e.duckdb"
    shutil.copy(db_src, db)
    rows = [dict(GOOD, p1_id=str(ids[i]), p2_id=str(ids[i + 5])) for i in range(5)]
    rows[line]["tourney_name"] = f"Open {text}"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp / "fixtures.csv"
    data = buffer.getvalue().encode(encoding)
    try:
        data.decode("utf-8")
        assume(False)  # bytes that happen to be valid UTF-8 ("Ã©") cannot be told apart
    except UnicodeDecodeError:
        pass
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["--db", str(db), "fixtures", "load", str(path)])
    # never silently mangled: refused at the line (header = line 1) of the first odd byte
    assert result.exit_code == 2, result.output
    assert f"fixtures.csv: line {line + 2}, column " in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["--db", str(db), "fixtures", "load", str(path),
                                       "--encoding", encoding])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    stored = {r[0] for r in con.execute("SELECT tourney_name FROM fixtures").fetchall()}
    con.close()
    assert f"Open {text}".strip() in stored and not any("\ufffd" in n for n in stored)
    STATS["files"] += 2
    STATS["not_utf8_refused"] += 1


@settings(max_examples=30, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(cells=st.dictionaries(
    st.sampled_from(["tourney_id", "tourney_date", "match_num", "winner_id", "loser_id",
                     "score", "best_of", "winner_rank", "winner_age", "surface",
                     "winner_name"]), value, min_size=1, max_size=5),
    line=st.integers(0, 20))
def test_match_files_with_garbage_cells(prepared, tmp_path_factory, cells, line) -> None:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("ingest")
    folder = tmp / "atp"
    folder.mkdir()
    src = prepared["source"]
    shutil.copy(src / "atp_players.csv", folder / "atp_players.csv")
    frame = pl.read_csv(src / "atp_matches_2021.csv", infer_schema=False)
    rows = frame.to_dicts()
    rows[line].update(cells)
    with (folder / "atp_matches_2021.csv").open("w", newline="", encoding="utf-8",
                                                 errors="surrogatepass") as handle:
        writer = csv.DictWriter(handle, fieldnames=frame.columns)
        writer.writeheader()
        writer.writerows(rows)
    db = tmp / "i.duckdb"
    result = CliRunner().invoke(main, ["--db", str(db), "ingest", str(folder), "--years",
                                       "2021", "--levels", "tour"])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    if result.exit_code == 0:
        con = duckdb.connect(str(db), read_only=True)
        kept = con.execute("SELECT count(*) FROM matches").fetchall()[0][0]
        rejected = con.execute("SELECT count(*) FROM ingest_rejects WHERE source_file = "
                               "'atp_matches_2021.csv'").fetchall()[0][0]
        con.close()
        assert kept + rejected == len(rows)  # nothing lost, nothing silent
        assert kept >= len(rows) - 2  # one bad row (or a duplicate key it created)
    STATS["files"] += 1


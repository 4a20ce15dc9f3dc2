"""Loading fixture files: implausible input is a reject with the right reason.

Runs on a database with the small synthetic history (2019-2022) ingested; every file is
written here, byte for byte, so each test shows the input it is about.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner, Result

from acebet.cli import main
from tests.conftest import copy_db
from tests.jobdb import player_ids, query

HEADER = ("tourney_date,tourney_name,surface,tourney_level,round,best_of,p1_id,p2_id,"
          "p1_odds,p2_odds")


@pytest.fixture(scope="module")
def base(synthetic_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fixtures") / "base.duckdb"
    result = CliRunner().invoke(main, ["--db", str(path), "ingest", str(synthetic_source)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(base: Path, tmp_path: Path) -> Path:
    return copy_db(base, tmp_path)


def ids(db: Path, n: int = 8) -> list[int]:
    return player_ids(db)[:n]


def names(db: Path, n: int = 8) -> list[str]:
    """`Last F.` names of players with history."""
    rows = query(db, "SELECT name_last || ' ' || left(name_first, 1) || '.' FROM players "
                     "ORDER BY player_id LIMIT ?", [n])
    return [r[0] for r in rows]


def load(db: Path, path: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--db", str(db), "fixtures", "load", str(path), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result


def rejects(db: Path) -> dict[int, str]:
    return dict(query(db, "SELECT row_number, reason FROM fixture_rejects ORDER BY 1"))


def file_text(*lines: str) -> str:
    """Each line ends in a newline, the last one too."""
    return "".join(line + "\n" for line in lines)


def csv_file(path: Path, *lines: str) -> Path:
    path.write_text(file_text(*lines))
    return path


def row(a: int | str, b: int | str, date: str = "2023-01-09", odds: str = ",",
        name: str = "Test Open") -> str:
    return f"{date},{name},Hard,A,R32,3,{a},{b},{odds}"


# -- dates -------------------------------------------------------------------------------------


def test_dates_before_the_history_or_far_past_its_end_are_rejected_saying_so(
    db: Path, tmp_path: Path
) -> None:
    n = names(db)
    path = csv_file(
        tmp_path / "dates.csv",
        "tourney_date,tourney_name,surface,tourney_level,round,best_of,p1_name,p2_name",
        f"1900-01-01,Old,Hard,A,R32,3,{n[0]},{n[1]}",       # line 2
        f"2099-01-05,Future,Hard,A,R32,3,{n[2]},{n[3]}",    # line 3
        f"9999-12-27,Far,Hard,A,R32,3,{n[4]},{n[5]}",       # line 4
        f"2023-01-09,Good,Hard,A,R32,3,{n[6]},{n[7]}",      # line 5
    )
    result = load(db, path)
    assert result.exit_code == 0 and "1 new" in result.output and "3 rejected" in result.output
    why = rejects(db)
    assert set(why) == {2, 3, 4}
    (start, end), = query(db, "SELECT min(tourney_date), max(tourney_date) FROM matches")
    assert f"1900-01-01 is before the history (it starts {start})" in why[2]
    for line, date in ((3, "2099-01-05"), (4, "9999-12-27")):
        assert (f"tourney_date {date} is more than 730 days after the history ends ({end})"
                in why[line])
    # the date is the reason, not the names (which resolve on sensible dates)
    assert not any("not a known player" in reason for reason in why.values())
    assert query(db, "SELECT count(*) FROM fixtures") == [(1,)]


# -- odds --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1e308", "1001", "1.0005", "1", "0.5", "inf", "nan", "-2"])
def test_odds_outside_what_bookmakers_quote_are_rejected(
    db: Path, tmp_path: Path, bad: str
) -> None:
    p = ids(db)
    path = csv_file(tmp_path / "odds.csv", HEADER, row(p[0], p[1], odds=f"{bad},1.5"),
                    row(p[2], p[3], odds="1.001,1000"))
    result = load(db, path)
    assert result.exit_code == 0 and "1 new" in result.output
    assert "from 1.001 to 1000" in rejects(db)[2] and f"p1_odds {bad} " in rejects(db)[2]
    assert query(db, "SELECT p1_odds, p2_odds FROM fixtures") == [(1.001, 1000.0)]


# -- bytes and records -------------------------------------------------------------------------


def test_bytes_that_are_not_utf8_are_refused_with_their_line(db: Path, tmp_path: Path) -> None:
    p = ids(db)
    path = tmp_path / "latin1.csv"
    text = "\n".join([HEADER, row(p[0], p[1]), row(p[2], p[3], name="München Open")]) + "\n"
    path.write_bytes(text.encode("latin-1"))
    result = load(db, path)
    assert result.exit_code == 2
    assert "line 3, column 13: byte 0xfc is not utf-8" in result.output
    assert "--encoding" in result.output and len(result.output.strip().splitlines()) == 1
    assert query(db, "SELECT count(*) FROM fixtures") == [(0,)]
    # named, the encoding is used; nothing is replaced by U+FFFD
    result = load(db, path, "--encoding", "latin-1")
    assert result.exit_code == 0 and "2 new" in result.output
    assert ("München Open",) in query(db, "SELECT tourney_name FROM fixtures")
    bad_name = load(db, path, "--encoding", "no-such-codec")
    assert bad_name.exit_code == 2 and "not a known encoding" in bad_name.output


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column(
    db: Path, tmp_path: Path
) -> None:
    p = ids(db)
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + file_text(HEADER, row(p[0], p[1])).encode())
    assert "1 new" in load(db, path).output


def test_a_malformed_record_is_one_reject_with_its_line_and_the_rest_load(
    db: Path, tmp_path: Path
) -> None:
    p = ids(db)
    path = csv_file(
        tmp_path / "ragged.csv",
        HEADER,
        row(p[0], p[1]),                                    # line 2
        row(p[2], p[3], name="Rome, Italy"),                # line 3: unquoted comma
        row(p[4], p[5], name='"Paris, France"'),            # line 4: quoted, fine
        "2023-01-09,Short,Hard,A,R32,3",                    # line 5: fields missing
        "",                                                 # line 6: blank, no row
        row(p[6], p[7]),                                    # line 7
    )
    result = load(db, path)
    assert result.exit_code == 0, result.output
    assert "5 rows, 3 new" in result.output and "2 rejected" in result.output
    why = rejects(db)
    assert set(why) == {3, 5}
    assert "11 fields where the header has 10" in why[3] and "unquoted comma" in why[3]
    assert "6 fields where the header has 10" in why[5]
    assert "ragged.csv: line 3: 11 fields" in result.output
    raw = query(db, "SELECT raw FROM fixture_rejects WHERE row_number = 3")[0][0]
    assert "Rome" in raw and " Italy" in raw  # the record as read, nothing lost
    assert ("Paris, France",) in query(db, "SELECT tourney_name FROM fixtures")


def test_warnings_name_the_file_line_across_multiline_records(
    db: Path, tmp_path: Path
) -> None:
    p = ids(db)
    path = csv_file(
        tmp_path / "lines.csv",
        HEADER,
        row(p[0], p[1], name='"Two\nLine Open"'),           # lines 2-3
        row(p[2], p[3]).replace("Hard", "Ice"),             # line 4
    )
    result = load(db, path)
    assert "lines.csv: line 4: surface Ice" in result.output
    assert rejects(db) == {4: rejects(db)[4]}


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_ends_count_lines_the_same(
    db: Path, tmp_path: Path, newline: str
) -> None:
    p = ids(db)
    path = tmp_path / "crlf.csv"
    lines = [HEADER.replace(",", ";"), row(p[0], p[1]), row(p[2], p[3], name="A, B")]
    path.write_bytes((newline.join(line.replace(",", ";") if i < 2 else line
                                   for i, line in enumerate(lines)) + newline).encode())
    result = load(db, path)
    assert "1 new" in result.output, result.output
    assert "crlf.csv: line 3: 1 field where the header has 10" in result.output


def test_parquet_rejects_name_the_row(db: Path, tmp_path: Path) -> None:
    p = ids(db)
    frame = pl.DataFrame({"tourney_date": ["2023-01-09", "2023-01-09"],
                          "surface": ["Hard", "Ice"], "tourney_level": ["A", "A"],
                          "round": ["R32", "R32"], "best_of": ["3", "3"],
                          "p1_id": [str(p[0]), str(p[2])], "p2_id": [str(p[1]), str(p[3])]})
    frame.write_parquet(tmp_path / "f.parquet")
    result = load(db, tmp_path / "f.parquet")
    assert "f.parquet: row 2: surface Ice" in result.output and "1 new" in result.output


# -- fixture ids -------------------------------------------------------------------------------


def test_a_fixture_id_reused_for_another_pair_is_a_conflict(db: Path, tmp_path: Path) -> None:
    p = ids(db)
    head = "fixture_id," + HEADER
    first = csv_file(tmp_path / "first.csv", head, "fx-1," + row(p[0], p[1]),
                     "fx-2," + row(p[2], p[3]),
                     "fx-2," + row(p[4], p[5]),       # line 4: same id, new pair
                     "fx-1," + row(p[0], p[1]))       # line 5: duplicate
    result = load(db, first)
    assert result.exit_code == 0 and "2 new" in result.output
    why = rejects(db)
    assert f"fixture_id fx-2 conflict: line 3 has {_pair(db, p[2], p[3])}" in why[4]
    assert f"this row has {_pair(db, p[4], p[5])}" in why[4]
    assert "duplicate fixture fx-1 (the same players as line 2)" in why[5]
    # a later file: the same id for another pair never replaces the stored match ...
    later = csv_file(tmp_path / "later.csv", head, "fx-1," + row(p[6], p[7]),
                     "fx-2," + row(p[3], p[2], date="2023-01-10"))
    result = load(db, later)
    assert "later.csv: line 2: fixture_id fx-1 conflict: stored for" in result.output
    assert _pair(db, p[0], p[1]) in result.output and _pair(db, p[6], p[7]) in result.output
    # ... while the same pair in either order is an update
    assert "1 updated" in result.output
    stored = dict(query(db, "SELECT fixture_id, [p1_id, p2_id] FROM fixtures"))
    assert stored == {"fx-1": [p[0], p[1]], "fx-2": [p[3], p[2]]}


def _pair(db: Path, a: int, b: int) -> str:
    name = dict(query(db, f"SELECT player_id, name FROM players WHERE player_id IN ({a}, {b})"))
    return f"{name[a]} ({a}) vs {name[b]} ({b})"


# -- exit codes --------------------------------------------------------------------------------


def test_a_file_with_every_row_rejected_exits_2_and_records_the_rejects(
    db: Path, tmp_path: Path
) -> None:
    p = ids(db)
    path = csv_file(tmp_path / "allbad.csv", HEADER, row(p[0], p[0]),
                    row(p[1], p[2]).replace("R32", "R3"))
    result = load(db, path)
    assert result.exit_code == 2
    assert "allbad.csv: all 2 rows rejected; nothing loaded" in result.output
    assert set(rejects(db)) == {2, 3}  # the reasons are kept for whoever looks
    # one good row: exit 0 with warnings; with --strict, 2
    csv_file(path, HEADER, row(p[0], p[0]), row(p[1], p[2]))
    assert load(db, path).exit_code == 0
    assert load(db, path, "--strict").exit_code == 2
    # a header alone is no failure: nothing was asked for
    csv_file(path, HEADER)
    assert load(db, path).exit_code == 0


# -- separators --------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_semicolon_tab_and_pipe_separated_files_load(
    db: Path, tmp_path: Path, sep: str
) -> None:
    p = ids(db)
    lines = [HEADER, row(p[0], p[1], odds="1.5,2.6"), row(p[2], p[3])]
    path = csv_file(tmp_path / "sep.csv", *(line.replace(",", sep) for line in lines))
    result = load(db, path)
    assert result.exit_code == 0 and "2 new" in result.output, result.output
    assert query(db, "SELECT p1_odds FROM fixtures WHERE p1_odds IS NOT NULL") == [(1.5,)]


def test_an_unknown_separator_is_named_in_the_missing_column_message(
    db: Path, tmp_path: Path
) -> None:
    p = ids(db)
    path = csv_file(tmp_path / "colon.csv",
                    *(line.replace(",", ":") for line in (HEADER, row(p[0], p[1]))))
    result = load(db, path)
    assert result.exit_code == 2
    assert "missing required column" in result.output
    assert "header read as comma-separated: 1 column, 'tourney_date:tourney_name" in \
        result.output


# -- names -------------------------------------------------------------------------------------


def test_a_flagged_name_loads_with_a_warning_naming_its_line(db: Path, tmp_path: Path) -> None:
    # Everyone of one surname stops playing early in 2021: on the history's last day the
    # name is a known player back after a long absence, resolved, flagged, warned about.
    con = duckdb.connect(str(db))
    (pid, full, last), = con.execute(
        "SELECT player_id, name, name_last FROM players ORDER BY player_id LIMIT 1").fetchall()
    con.execute("DELETE FROM matches WHERE tourney_date > DATE '2021-01-31' AND (winner_id IN "
                "(SELECT player_id FROM players WHERE name_last = $1) OR loser_id IN "
                "(SELECT player_id FROM players WHERE name_last = $1))", [last])
    (last_match,), = con.execute(
        "SELECT max(tourney_date) FROM matches WHERE $1 IN (winner_id, loser_id)", [pid]
    ).fetchall()
    con.close()
    other = ids(db)[-1]
    path = csv_file(
        tmp_path / "back.csv",
        "tourney_date,tourney_name,surface,tourney_level,round,best_of,p1_id,p2_id,p1_name,"
        "p2_name",
        f"2023-01-09,Back,Hard,A,R32,3,,{other},{full},",
    )
    result = CliRunner().invoke(main, ["--db", str(db), "-v", "fixtures", "load", str(path)])
    assert result.exit_code == 0 and "1 new" in result.output, result.output
    assert f"back.csv: line 2: p1_name '{full}' taken as {full} ({pid})" in result.output
    assert f"long absence: last recorded match {last_match} [long_absence]" in result.output
    assert query(db, "SELECT p1_id FROM fixtures") == [(pid,)]

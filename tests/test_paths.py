"""Files and paths: a mistyped --db creates nothing, outputs go where and as they say,
CSV cells cannot run as spreadsheet formulas, a newer database is refused by everyone."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from acebet import export
from acebet.cli import main
from tests.conftest import copy_db


@pytest.fixture(scope="module")
def scored(trained_synthetic_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """History, a model and two scored fixtures."""
    path = copy_db(trained_synthetic_db, tmp_path_factory.mktemp("paths"), "scored.duckdb")
    runner = CliRunner()
    con = duckdb.connect(str(path), read_only=True)
    ids = [r[0] for r in con.execute("SELECT player_id FROM players ORDER BY 1 LIMIT 4")
           .fetchall()]
    con.close()
    fixtures = path.parent / "f.csv"
    fixtures.write_text(
        "tourney_date,tourney_name,surface,tourney_level,round,best_of,p1_id,p2_id\n"
        f"2023-01-09,Test Open,Hard,A,R32,3,{ids[0]},{ids[1]}\n"
        f"2023-01-09,Test Open,Hard,A,R32,3,{ids[2]},{ids[3]}\n")
    for args in (["fixtures", "load", str(fixtures)], ["score"]):
        result = runner.invoke(main, ["--db", str(path), *args])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(scored: Path, tmp_path: Path) -> Path:
    return copy_db(scored, tmp_path)


def cli(db: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--db", str(db), *args])


def one_line_error(result, code: int, *words: str) -> None:  # noqa: ANN001
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.output.count("\n") == 1 and result.output.startswith("Error: "), result.output
    for word in words:
        assert word in result.output, result.output


# Every command but ingest, db migrate and demo, with arguments that would otherwise work.
NOT_CREATING = [
    ["score"], ["predict", "1", "2", "--surface", "Hard"], ["report", "--out", "{tmp}/r"],
    ["export", "predictions", "--out", "{tmp}/p.csv"], ["runs", "list"], ["db", "status"],
    ["models", "list"], ["models", "activate", "1"], ["train"],
    ["fixtures", "load", "{fixtures}"], ["backtest", "--from", "2022-01-01", "--to",
                                          "2022-02-01"], ["odds", "load", "{tmp}"],
]


@pytest.mark.parametrize("args", NOT_CREATING, ids=lambda a: " ".join(a[:2]))
def test_a_mistyped_db_is_refused_and_no_file_is_created(
    args: list[str], tmp_path: Path, scored: Path
) -> None:
    typo = tmp_path / "acebet.duckbd"
    filled = [a.format(tmp=tmp_path, fixtures=scored.parent / "f.csv") for a in args]
    one_line_error(cli(typo, *filled), 1, str(typo), "no such database")
    assert list(tmp_path.iterdir()) == []


def test_ingest_and_db_migrate_create_the_database(tmp_path: Path) -> None:
    assert cli(tmp_path / "new.duckdb", "db", "migrate").exit_code == 0
    assert (tmp_path / "new.duckdb").exists()


@pytest.mark.parametrize("where", ["under a file", "no permission"])
def test_report_to_an_unusable_folder_is_one_line_exit_2(
    db: Path, tmp_path: Path, where: str
) -> None:
    if where == "under a file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "report"
    else:
        import os

        if os.geteuid() == 0:
            out = Path("/proc/acebet-report")  # even root cannot create folders here
        else:
            locked = tmp_path / "locked"
            locked.mkdir(mode=0o500)
            out = locked / "report"
    one_line_error(cli(db, "report", "--out", str(out)), 2, "--out", str(out))


@pytest.mark.parametrize("name", ["p.xlsx", "p.json", "p", "p.csv.gz"])
def test_export_refuses_a_file_name_it_would_not_honour(
    db: Path, tmp_path: Path, name: str
) -> None:
    one_line_error(cli(db, "export", "predictions", "--out", str(tmp_path / name)), 2,
                   "unknown file type")
    assert list(tmp_path.glob("p*")) == []


def test_export_format_must_agree_with_the_file_name(db: Path, tmp_path: Path) -> None:
    one_line_error(cli(db, "export", "predictions", "--format", "csv", "--out",
                       str(tmp_path / "p.parquet")), 2, "--format")
    assert cli(db, "export", "predictions", "--out", str(tmp_path / "p.pq")).exit_code == 0
    assert pl.read_parquet(tmp_path / "p.pq").height == 2


def test_export_to_dash_writes_csv_to_stdout(db: Path) -> None:
    result = CliRunner().invoke(main, ["--db", str(db), "export", "predictions", "--out", "-"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2 and "p1_win_prob" in rows[0] and "fixture_id" in rows[0]
    assert "rows of" not in result.stdout  # nothing but the CSV on stdout


def test_csv_exports_neutralise_spreadsheet_formulas(db: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("""UPDATE predictions SET p1_name = '=HYPERLINK("http://x.example/","y")',
                   p2_name = '@SUM(A1)', tourney_name = chr(9) || '+1+1', round = '-2+3',
                   edge = -0.25""")
    con.close()
    out = tmp_path / "p.csv"
    assert cli(db, "export", "all-predictions", "--out", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["p1_name"] for r in rows} == {"'=HYPERLINK(\"http://x.example/\",\"y\")"}
    assert {r["p2_name"] for r in rows} == {"'@SUM(A1)"}
    assert {r["tourney_name"] for r in rows} == {"'\t+1+1"}
    assert {r["round"] for r in rows} == {"'-2+3"}
    assert {r["edge"] for r in rows} == {"-0.25"}  # numbers are numbers, not formulas
    parquet = tmp_path / "p.parquet"  # Parquet keeps values exactly; it is not a spreadsheet
    assert cli(db, "export", "all-predictions", "--out", str(parquet)).exit_code == 0
    assert pl.read_parquet(parquet)["p2_name"].to_list() == ["@SUM(A1)"] * 2


def test_neutralise_formulas_covers_every_dangerous_first_character() -> None:
    frame = pl.DataFrame({"s": ["=1", "+1", "-1", "@1", "\t1", "\r1", "ok", "a=1", None],
                          "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9]})
    assert export.neutralise_formulas(frame).to_dict(as_series=False) == {
        "s": ["'=1", "'+1", "'-1", "'@1", "'\t1", "'\r1", "ok", "a=1", None],
        "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9]}


EVERY_COMMAND = [
    ["db", "status"], ["db", "migrate"], ["report", "--out", "{tmp}/r"],
    ["export", "predictions", "--out", "{tmp}/p.csv"], ["predict", "1", "2", "--surface",
                                                         "Hard"],
    ["runs", "list"], ["models", "list"], ["models", "activate", "1"], ["score"], ["train"],
    ["fixtures", "load", "{fixtures}"], ["ingest", "{tmp}/nowhere"],
    ["backtest", "--from", "2022-01-01", "--to", "2022-02-01"], ["odds", "load", "{tmp}"],
]


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=lambda a: " ".join(a[:2]))
def test_a_database_from_a_newer_schema_is_refused_by_every_command_alike(
    db: Path, tmp_path: Path, scored: Path, args: list[str]
) -> None:
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_migrations (version, name, checksum) "
                "VALUES (999, 'from_the_future', 'x')")
    con.close()
    filled = [a.format(tmp=tmp_path, fixtures=scored.parent / "f.csv") for a in args]
    one_line_error(cli(db, *filled), 1,
                   f"Error: {db}: schema version 999 is newer than this AceBet")
    assert not (tmp_path / "r").exists() and not (tmp_path / "p.csv").exists()

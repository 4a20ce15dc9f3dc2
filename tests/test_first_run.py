"""A first run without the network says what to do in one line and leaves no database."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from acebet.cli import main

OFFLINE_SOURCE = "https://acebet-test.invalid/tennis_atp/"  # never resolves (RFC 2606)


def test_offline_first_ingest_names_the_remedy_and_leaves_no_database(tmp_path: Path) -> None:
    db = tmp_path / "acebet.duckdb"
    result = CliRunner().invoke(main, ["--db", str(db), "ingest"],
                                env={"ACEBET_SOURCE": OFFLINE_SOURCE})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "acebet-test.invalid" in lines[0] and "ACEBET_SOURCE" in lines[0]
    assert list(tmp_path.iterdir()) == []  # neither the file nor its write-ahead log


def test_offline_demo_leaves_no_database(tmp_path: Path) -> None:
    db = tmp_path / "acebet.duckdb"
    result = CliRunner().invoke(main, ["--db", str(db), "demo"],
                                env={"ACEBET_SOURCE": OFFLINE_SOURCE})
    assert result.exit_code == 1
    assert "ACEBET_SOURCE" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_failed_command_leaves_an_existing_database_alone(
    tmp_path: Path, synthetic_source: Path
) -> None:
    db = tmp_path / "acebet.duckdb"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", str(db), "ingest", str(synthetic_source)]).exit_code == 0
    result = runner.invoke(main, ["--db", str(db), "ingest", OFFLINE_SOURCE])
    assert result.exit_code == 1
    status = runner.invoke(main, ["--db", str(db), "db", "status"])
    assert status.exit_code == 0
    matches = next(line for line in status.output.splitlines() if line.startswith("matches "))
    assert int(matches.split()[-1].replace(",", "")) > 0


def test_failed_first_command_with_bad_input_leaves_no_database(tmp_path: Path) -> None:
    db = tmp_path / "acebet.duckdb"
    result = CliRunner().invoke(main, ["--db", str(db), "ingest", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert not db.exists()


def test_a_first_ingest_whose_publish_fails_keeps_what_it_stored(
    tmp_path: Path, synthetic_source: Path
) -> None:
    db = tmp_path / "acebet.duckdb"
    blocked = tmp_path / "share.duckdb"
    blocked.mkdir()  # the snapshot cannot be renamed over a folder: publishing fails late
    result = CliRunner().invoke(main, ["--db", str(db), "--publish", str(blocked), "ingest",
                                       str(synthetic_source)])
    assert result.exit_code == 1 and "acebet publish" in result.stderr, result.output
    assert db.exists()
    again = CliRunner().invoke(main, ["--db", str(db), "--publish", "none", "db", "status"])
    assert again.exit_code == 0 and "matches" in again.output
    assert " 0\n" not in again.output.split("matches", 1)[1].splitlines()[0] + "\n"

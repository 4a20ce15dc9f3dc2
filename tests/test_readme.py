"""The README cannot drift: its test command is CI's, and its commands parse."""

from __future__ import annotations

import re
import shlex
import shutil
import warnings
from pathlib import Path

import click
import pytest

from acebet.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[list[str]]:
    """Every `uv run acebet …` line of the README's code blocks, continuation lines joined."""
    text = README.replace("\\\n", " ")
    lines = re.findall(r"^(?:[A-Z_]+=\S+ )*uv run acebet (.+?)(?:\s+#.*)?$", text, flags=re.M)
    return [shlex.split(line) for line in lines]


def test_the_readme_test_command_is_what_ci_runs() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "uv run pytest" in quick_start
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
          if line.strip() and not line.strip().startswith("#")]
    assert "uv run pytest" in ci
    assert {"uv run pytest -m slow", "uv run pytest -m reliability"} <= set(ci)


def test_the_quick_start_main_command_is_demo() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "uv run acebet demo" in quick_start


@pytest.mark.parametrize("args", readme_commands(), ids=lambda a: " ".join(a)[:60])
def test_every_readme_command_parses(args: list[str]) -> None:
    def remaining(ctx: click.Context) -> list[str]:
        with warnings.catch_warnings():  # Click 8.2+ deprecates protected_args
            warnings.simplefilter("ignore", DeprecationWarning)
            return [*ctx.protected_args, *ctx.args]

    ctx = main.make_context("acebet", list(args), resilient_parsing=False)
    command: click.Command = main
    rest = remaining(ctx)
    while isinstance(command, click.Group) and rest:
        name, *rest = rest
        sub = command.get_command(ctx, name)
        assert sub is not None, f"unknown command {name!r} in README: {args}"
        ctx = sub.make_context(name, list(rest), parent=ctx, resilient_parsing=False)
        command, rest = sub, remaining(ctx)
    assert not rest, f"unexpected arguments {rest} in README: {args}"


def test_every_command_in_the_help_is_in_the_readme() -> None:
    for name in main.list_commands(click.Context(main)):
        assert f"acebet {name}" in README, name


def readme_runs() -> list[tuple[dict[str, str], list[str], bool]]:
    """(environment prefix, arguments, long-running?) of every README acebet line, in order."""
    text = README.replace("\\\n", " ")
    runs = []
    for env, args, comment in re.findall(
        r"^((?:[A-Z_]+=\S+ )*)uv run acebet (.+?)(\s+#.*)?$", text, flags=re.M
    ):
        variables = dict(item.split("=", 1) for item in env.split())
        runs.append((variables, shlex.split(args), "long-running" in (comment or "")))
    return runs


@pytest.mark.slow
def test_the_readme_commands_run_as_written(real_data: Path, tmp_path: Path) -> None:
    """Every README command, in README order, on the real history. Only paths change
    (/tmp and ../shared/data point into this test's folders); the long-running lines
    (a two-year monthly backtest, and a comparison that reads its output) are parsed
    above but not run here."""
    import os
    import subprocess
    import sys

    text = README.replace("\\\n", " ")
    for name, body in re.findall(r"cat > (\S+) <<'CSV'\n(.*?)\nCSV", text, flags=re.S):
        (tmp_path / name).write_text(body + "\n")
    shutil.copytree(ROOT / "sql", tmp_path / "sql")  # `acebet query -f sql/queries/…`

    def local(arg: str) -> str:
        arg = arg.replace("../shared/data", str(real_data))
        return str(tmp_path / arg[len("/tmp/"):]) if arg.startswith("/tmp/") else arg

    ran = 0
    for variables, args, long_running in readme_runs():
        if long_running:
            continue
        env = {**os.environ, "ACEBET_SOURCE": str(real_data / "tennis_atp"),  # no network
               **{k: local(v) for k, v in variables.items()}}
        proc = subprocess.run([sys.executable, "-m", "acebet", *map(local, args)],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, f"acebet {' '.join(args)}\n{proc.stderr[-2000:]}"
        ran += 1
    assert ran >= 18
    assert (tmp_path / "report" / "report.html").exists()
    assert (tmp_path / "outcomes.csv").exists() and (tmp_path / "predictions.parquet").exists()

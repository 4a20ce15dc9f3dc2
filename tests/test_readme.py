"""The README cannot drift: its test command is CI's, and its commands parse."""

from __future__ import annotations

import re
import shlex
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
    assert ci[-1] == "uv run pytest"


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

"""The ``symnet`` command line: registry, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from symnet import __version__, cli


def _command(exc: BaseException) -> cli.Command:
    def handler(args: argparse.Namespace) -> int:
        raise exc

    return cli.Command(lambda parser: None, handler, "raises")


# Minimal valid arguments of each subcommand.
_MINIMAL_ARGS = {"demo": [], "check": ["symnet.systems:Kepler", "--symmetry", "rotation"]}


def test_every_command_is_in_the_parser() -> None:
    parser = cli.build_parser()
    assert set(cli.COMMANDS) == set(_MINIMAL_ARGS)
    for name, command in cli.COMMANDS.items():
        args = parser.parse_args([name, *_MINIMAL_ARGS[name]])
        assert args.command is command


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"symnet {__version__}"


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


@pytest.mark.parametrize("argv", [[], ["no-such-command"], ["demo", "--no-such-option"]])
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("symnet: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad value\nspread over lines"),
        TypeError("bad type"),
        FileNotFoundError(2, "No such file or directory", "missing.py"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    exc: BaseException, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.COMMANDS, "boom", _command(exc))
    assert cli.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symnet: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_traceback_flag_reraises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "boom", _command(ValueError("bad")))
    with pytest.raises(ValueError, match="bad"):
        cli.main(["--traceback", "boom"])


def test_other_errors_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "boom", _command(RuntimeError("bug")))
    with pytest.raises(RuntimeError, match="bug"):
        cli.main(["boom"])


def test_handler_exit_code_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    command = cli.Command(lambda parser: None, lambda args: 1, "fails")
    monkeypatch.setitem(cli.COMMANDS, "fails", command)
    assert cli.main(["fails"]) == 1


def test_module_entry_point_bad_input() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "symnet.cli", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr

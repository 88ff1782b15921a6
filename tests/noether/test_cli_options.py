"""``symnet check --threads N --compile {auto,on,off}``: passed on, restored, validated."""

from __future__ import annotations

import pytest
import torch

from symnet.cli import main

FAST = ["--steps", "20", "--batch", "3", "--no-progress"]


class _Report:
    all_conserved = True

    def __str__(self) -> str:
        return "fake report"


@pytest.fixture
def seen(monkeypatch):
    """Replace the checker: record its ``compile`` and torch's thread count during the check."""
    calls: list[dict] = []

    def fake_check(*args, **kwargs):
        calls.append({"compile": kwargs["compile"], "threads": torch.get_num_threads()})
        return _Report()

    monkeypatch.setattr("symnet.noether.checker.check", fake_check)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the suite runs at 1: a value the CLI must restore
    yield calls
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("argv", "compile", "threads"),
    [
        ([], "auto", 1),
        (["--compile", "on"], True, 1),
        (["--compile", "off", "--threads", "3"], False, 3),
        (["--compile", "auto", "--threads", "1"], "auto", 1),
    ],
)
def test_options_reach_the_checker(capsys, seen, argv, compile, threads):
    code = main(["check", "symnet.systems:Kepler", "-s", "rotation", *FAST, *argv])
    out, err = capsys.readouterr()
    assert code == 0 and err == "" and out.strip() == "fake report"
    assert seen == [{"compile": compile, "threads": threads}]
    assert torch.get_num_threads() == 2  # the user's setting, restored


def test_threads_restored_after_an_error(capsys, seen, monkeypatch):
    def failing_check(*args, **kwargs):
        assert torch.get_num_threads() == 1
        raise ValueError("bad input found during the check")

    monkeypatch.setattr("symnet.noether.checker.check", failing_check)
    code = main(["check", "symnet.systems:Kepler", "-s", "rotation", *FAST])
    _, err = capsys.readouterr()
    assert code == 2 and "bad input found during the check" in err
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--threads", "0"], "--threads must be >= 1, got 0"),
        (["--threads", "-3"], "--threads must be >= 1, got -3"),
        (["--threads", "two"], "argument --threads: invalid int value: 'two'"),
        (["--compile", "yes"], "argument --compile: invalid choice: 'yes'"),
    ],
)
def test_bad_options_exit_2_with_one_line(capsys, seen, argv, needle):
    code = main(["check", "symnet.systems:Kepler", "-s", "rotation", *FAST, *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert seen == [] and torch.get_num_threads() == 2


def test_help_documents_both_options(capsys):
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--compile {auto,on,off}" in out and "--threads N" in out
    assert "default 1" in out and "restored afterwards" in " ".join(out.split())


def test_a_real_eager_run_on_two_threads(capsys):
    """The whole path, eager, with another thread count: same verdicts, setting restored."""
    before = torch.get_num_threads()
    try:
        code = main(
            ["check", "symnet.systems:Kepler", "-s", "rotation", *FAST]
            + ["--compile", "off", "--threads", "2"]
        )
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(before)
    out, _ = capsys.readouterr()
    assert code == 0 and "rotation_z: conserved" in out

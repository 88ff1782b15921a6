"""``symnet check ... --nproc N``: validation, the torchrun command, and real 2-process runs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import symnet
from symnet import _launch
from symnet.cli import build_parser, main

FAST = ["--steps", "20", "--batch", "3", "--no-progress"]
ROOT = Path(__file__).resolve().parents[2]
LAUNCH_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", _launch.RESULT_ENV)


class _Report:
    all_conserved = True

    def __str__(self) -> str:
        return "fake report"


@pytest.fixture
def outside_launch(monkeypatch):
    """No torchrun variables in the environment, whatever runs the tests."""
    for name in LAUNCH_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def checks(monkeypatch, outside_launch):
    """Replace the checker and forbid processes: record the checks run in this process."""
    calls: list[dict] = []

    def fake_check(*args, **kwargs):
        calls.append(kwargs)
        return _Report()

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr("symnet.noether.checker.check", fake_check)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    return calls


def _check(capsys, *argv):
    code = main(["check", "symnet.systems:Kepler", "-s", "rotation", *FAST, *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- the option ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("0", "argument --nproc: must be an int >= 1, got 0"),
        ("-2", "argument --nproc: must be an int >= 1, got -2"),
        ("abc", "argument --nproc: must be an int >= 1, got 'abc'"),
        ("1.5", "argument --nproc: must be an int >= 1, got '1.5'"),
    ],
)
def test_bad_nproc_is_a_one_line_usage_error(capsys, checks, value, needle):
    code, out, err = _check(capsys, "--nproc", value)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symnet check: error: "), err
    assert needle in lines[0], err
    assert checks == []


@pytest.mark.parametrize("argv", [[], ["--nproc", "1"]])
def test_one_process_runs_here_without_torchrun(capsys, checks, argv):
    assert build_parser().parse_args(["check", "m:L", "-s", "time", *argv]).nproc == 1
    code, out, err = _check(capsys, *argv)
    assert (code, out.strip(), err) == (0, "fake report", "")
    assert len(checks) == 1 and checks[0]["progress"] is False


def test_help_tells_it_is_torchrun_and_how_to_run_on_a_cluster(capsys):
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--nproc N" in out
    assert "python -m torch.distributed.run --standalone --nproc-per-node N -m symnet check" in out
    assert "torchrun --nnodes" in out and "-m symnet check MODULE:OBJECT" in out


def test_python_dash_m_symnet_is_the_command_line():
    proc = subprocess.run(
        [sys.executable, "-m", "symnet", "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"symnet {symnet.__version__}"


# --- the torchrun command -------------------------------------------------------------------


TORCHRUN = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node"]


@pytest.mark.parametrize(
    "nproc_args",
    [
        ["--nproc", "2"],
        ["--nproc=2"],
        ["--np", "2"],
        ["--npro=2"],
        ["--nproc", "3", "--nproc", "2"],
    ],
)
def test_torchrun_command_drops_nproc_in_any_spelling(nproc_args):
    argv = [
        "--traceback",
        "check",
        "m:L",
        "-s",
        "time",
        *nproc_args,
        "--no-progress",
        "--json",
        "r",
    ]
    command = _launch.torchrun_command(argv, 2)
    assert command == [
        sys.executable,
        *TORCHRUN,
        "2",
        *("-m", "symnet", "--traceback", "check", "m:L", "-s", "time"),
        *("--no-progress", "--json", "r"),
    ]
    # the workers parse the same command, with one process each
    mine, theirs = build_parser().parse_args(argv), build_parser().parse_args(command[8:])
    assert mine.nproc == 2 and theirs.nproc == 1
    assert {**vars(mine), "nproc": 1} == vars(theirs)


def test_torchrun_command_keeps_what_follows_a_double_dash_and_checks_nproc():
    command = _launch.torchrun_command(["check", "--nproc", "4", "--", "--nproc"], 4, "py")
    assert command == ["py", *TORCHRUN, "4", "-m", "symnet", "check", "--", "--nproc"]
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="nproc must be an int >= 1"):
            _launch.torchrun_command(["check"], bad)


class _FakeTorchrun:
    """Stands for ``subprocess.Popen`` of torchrun: records it, "runs" rank 0, exits."""

    def __init__(self, rank0_code: int | None, torchrun_code: int = 0) -> None:
        self.rank0_code, self.torchrun_code = rank0_code, torchrun_code
        self.calls: list[tuple[list[str], dict]] = []

    def __call__(self, command, env=None, **kwargs):
        self.calls.append((command, dict(env)))
        if self.rank0_code is not None:
            Path(env[_launch.RESULT_ENV]).write_text(f"{self.rank0_code}\n")
        return self

    def wait(self, timeout=None):
        return self.torchrun_code

    def poll(self):
        return self.torchrun_code


@pytest.mark.parametrize(
    ("argv", "threads", "kept"),
    [(["--nproc", "2"], "1", []), (["--threads", "3", "--nproc=2"], "3", ["--threads", "3"])],
)
@pytest.mark.parametrize("rank0_code", [0, 1, 2])
def test_nproc_relaunches_with_threads_per_process_and_returns_rank0s_code(
    capsys, checks, monkeypatch, argv, threads, kept, rank0_code
):
    torchrun = _FakeTorchrun(rank0_code)
    monkeypatch.setattr(subprocess, "Popen", torchrun)
    monkeypatch.setenv("SYMNET_TEST_MARK", "kept")
    code, out, err = _check(capsys, *argv)
    assert (code, out, err) == (rank0_code, "", "")
    assert checks == []  # the check ran in the workers, not here
    [(command, env)] = torchrun.calls
    assert command[: len(TORCHRUN) + 4] == [sys.executable, *TORCHRUN, "2", "-m", "symnet"]
    assert command[len(TORCHRUN) + 4 :] == [
        "check",
        "symnet.systems:Kepler",
        "-s",
        "rotation",
        *FAST,
        *kept,
    ]
    assert env["OMP_NUM_THREADS"] == threads and env["SYMNET_TEST_MARK"] == "kept"
    assert not Path(env[_launch.RESULT_ENV]).exists()  # a temporary file, removed


def test_torchrun_reads_the_relaunched_command_with_options_in_full(capsys, checks, monkeypatch):
    """Abbreviations argparse accepts are written in full: torchrun's parser rejects some."""
    from torch.distributed.run import parse_args

    torchrun = _FakeTorchrun(0)
    monkeypatch.setattr(subprocess, "Popen", torchrun)
    argv = ["--trace", "check", "m:L", "--sym", "boost", "--ma=1,2", "--np", "2", "--no-p"]
    assert main(argv) == 0, capsys.readouterr().err
    [(command, _)] = torchrun.calls
    launch = parse_args(command[3:])
    assert launch.nproc_per_node == "2" and launch.module and launch.standalone
    assert launch.training_script == "symnet"
    assert launch.training_script_args == [
        *("--traceback", "check", "m:L", "--symmetry", "boost", "--masses=1,2", "--no-progress")
    ]


def test_a_crashed_worker_returns_torchruns_code(capsys, checks, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", _FakeTorchrun(None, torchrun_code=1))
    assert _check(capsys, "--nproc", "2") == (1, "", "")
    monkeypatch.setattr(subprocess, "Popen", _FakeTorchrun(None, torchrun_code=0))
    code, out, err = _check(capsys, "--nproc", "2")
    assert code == 1 and "without an exit code from rank 0" in err


# --- inside a launch ------------------------------------------------------------------------


def _inside(monkeypatch, rank: int, result: Path | None = None) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("LOCAL_RANK", str(rank))
    if result is not None:
        monkeypatch.setenv(_launch.RESULT_ENV, str(result))


def test_nproc_under_torchrun_is_refused(capsys, checks, monkeypatch):
    _inside(monkeypatch, 0)
    code, out, err = _check(capsys, "--nproc", "2")
    assert code == 2 and out == "" and checks == []
    assert "already runs under torchrun (WORLD_SIZE=2)" in err and err.count("\n") == 1


def test_only_rank_0_prints_an_error(capsys, checks, monkeypatch):
    _inside(monkeypatch, 1)
    assert _check(capsys, "--nproc", "0") == (2, "", "")
    _inside(monkeypatch, 0)
    code, _, err = _check(capsys, "--nproc", "0")
    assert code == 2 and "--nproc" in err


@pytest.mark.parametrize("rank", [0, 1])
def test_workers_exit_0_and_rank_0_hands_the_code_to_the_launcher(
    outside_launch, monkeypatch, tmp_path, rank
):
    assert _launch.launch_exit_code(2) == 2  # outside a launch: the code itself
    result = tmp_path / "code"
    _inside(monkeypatch, rank)
    assert _launch.launch_exit_code(2) == 2  # under a torchrun the user started
    _inside(monkeypatch, rank, result)
    assert _launch.launch_exit_code(2) == 0
    assert result.exists() == (rank == 0)
    if rank == 0:
        assert result.read_text().strip() == "2"


def test_no_process_group_outside_a_launch(outside_launch, monkeypatch):
    import torch.distributed as dist

    with _launch.process_group() as joined:
        assert joined is False and not dist.is_initialized()
    _inside(monkeypatch, 0)
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun with one process: no group either
    with _launch.process_group() as joined:
        assert joined is False and not dist.is_initialized()


# --- real runs: torchrun, 2 gloo processes ----------------------------------------------------

TARGET = ["symnet.systems:Kepler", "-s", "rotation", "-s", "translation", "-s", "time"]
RUN = ["--batch", "4", "--steps", "20"]


def _symnet(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_ENV}
    return subprocess.run(
        [sys.executable, "-m", "symnet", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _same_figures(a, b, where: str = "") -> None:
    """JSON values equal, floats to round-off."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, where
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (where, a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            if key == "reason":  # prose with figures rounded to 2 digits
                continue
            if key == "measured_order" and max(a["drift"], a["drift_half"]) < 1e-12:
                continue  # the log-ratio of two round-off drifts
            _same_figures(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_figures(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


@pytest.mark.slow
def test_two_processes_give_the_single_process_report_printed_once(tmp_path, capsys, monkeypatch):
    for name in LAUNCH_ENV:
        monkeypatch.delenv(name, raising=False)
    code1 = main(["check", *TARGET, *RUN, "--no-progress", "--json", str(tmp_path / "one.json")])
    out1 = capsys.readouterr().out
    proc = _symnet("check", *TARGET, *RUN, "--nproc", "2", "--json", "two.json", cwd=tmp_path)
    assert code1 == 1  # the Kepler potential breaks translations
    assert proc.returncode == code1, proc.stdout + proc.stderr
    assert proc.stdout.count("Noether check (") == 1  # rank 0 only
    assert proc.stdout.splitlines()[0] == out1.splitlines()[0]
    assert [ln for ln in proc.stdout.splitlines() if ln.startswith("  ")] == [
        ln for ln in out1.splitlines() if ln.startswith("  ")
    ]  # the verdict lines
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr
    one = json.loads((tmp_path / "one.json").read_text())
    two = json.loads((tmp_path / "two.json").read_text())
    assert two["verdicts"] == one["verdicts"]
    assert set(one["verdicts"].values()) == {"conserved", "broken"}
    _same_figures(one, two)


@pytest.mark.slow
def test_an_error_under_two_processes_is_one_line_with_exit_2(tmp_path):
    proc = _symnet(
        "check", "symnet.systems:Kepler", "-s", "translatoin", *RUN, "--nproc", "2", cwd=tmp_path
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("symnet: error: unknown symmetry 'translatoin'"), proc.stderr

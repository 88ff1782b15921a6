"""``symnet check MODULE:OBJECT -s NAME ...``: exit codes, files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from symnet.cli import main

FAST = ["--steps", "20", "--batch", "3", "--no-progress"]


def _run(capsys, *argv):
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_two_body_spring_conserves_everything(capsys):
    code, out, err = _run(
        capsys,
        "symnet.systems:TwoBodySpring",
        *("-s", "translation", "-s", "rotation", "-s", "time", "-s", "boost"),
        *FAST,
    )
    assert code == 0, out + err
    assert err == ""
    assert out.startswith("Noether check (lagrangian, rk4, dt=0.01, steps=20, batch=3)")
    for name in ("translation_x", "rotation_z", "time", "boost_y"):
        assert f"  {name}: conserved - " in out
    assert "broken" not in out and "inconclusive" not in out


def test_broken_symmetry_exits_1(capsys):
    code, out, err = _run(capsys, "symnet.systems:Kepler", "-s", "translation", *FAST)
    assert code == 1
    assert err == ""
    assert "translation_x: broken - not invariant" in out


def test_system_instance_and_generator_names(capsys):
    """A module-level instance works too, and a generator name selects one generator."""
    code, out, _ = _run(
        capsys,
        "tests.noether._cli_targets:SPRING_2D",
        *("-s", "rotation", "-s", "translation_y", "--method", "leapfrog", "--dt", "0.02"),
        *FAST,
    )
    assert code == 0, out
    assert "Noether check (lagrangian, leapfrog, dt=0.02" in out
    assert "translation_x" not in out and "  translation_y: conserved" in out


def _one_line_error(code, out, err, *needles):
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(("symnet: error: ", "symnet check: error: "))
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["symnet.nonexistent:Kepler", "-s", "time"], ["cannot import module"]),
        (["symnet.systems:NoSuchSystem", "-s", "time"], ["has no attribute 'NoSuchSystem'"]),
        (["symnet.systems", "-s", "time"], ["MODULE:OBJECT"]),
        (["symnet.systems:Kepler", "-s", "translatoin"], ["unknown symmetry 'translatoin'"]),
        (["symnet.systems:Kepler", "-s", "time", "--method", "rk5"], ["unknown integration"]),
        (["symnet.systems:Kepler", "-s", "time", "--steps", "1"], ["steps must be an int >= 2"]),
        (["symnet.systems:Kepler", "-s", "time", "--batch", "0"], ["--batch must be >= 1"]),
        (["symnet.systems:Kepler", "-s", "time", "--dt", "-1"], ["dt must be a positive"]),
        (["symnet.systems:Kepler", "-s", "rotation_w"], ["unknown symmetry 'rotation_w'"]),
        (["symnet.systems:Kepler"], ["--symmetry"]),
        (["tests.noether._cli_targets:harmonic_pair", "-s", "time"], ["--config-shape"]),
        (
            ["tests.noether._cli_targets:harmonic_pair", "-s", "time", "--config-shape", "2,x"],
            ["comma-separated ints"],
        ),
        (
            ["tests.noether._cli_targets:harmonic_pair", "-s", "rotation", "--config-shape", "6"],
            ["acts on particles"],
        ),
        (["tests.noether._cli_targets:NUMBER", "-s", "time"], ["neither a symnet system"]),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, needles):
    code, out, err = _run(capsys, *argv, "--no-progress")
    _one_line_error(code, out, err, *needles)


def _write_module(tmp_path: Path) -> None:
    (tmp_path / "my_lagrangian.py").write_text(
        "def L(q, qdot):\n"
        "    '''Two unit masses joined by a zero-length spring; q, qdot: (B, 2, 3).'''\n"
        "    d = q[:, 0] - q[:, 1]\n"
        "    return 0.5 * (qdot**2).sum((-1, -2)) - 0.5 * (d**2).sum(-1)\n"
    )


def test_lagrangian_callable_from_a_module_with_config_shape(capsys, tmp_path, monkeypatch):
    """Autodiff dynamics; files written where asked."""
    _write_module(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    out_json, out_png = tmp_path / "r.json", tmp_path / "plots" / "r.png"
    code, out, err = _run(
        capsys,
        "my_lagrangian:L",
        *("-s", "translation", "-s", "rotation_z", "-s", "time"),
        *("--config-shape", "2,3", "--steps", "8", "--batch", "2", "--dt", "0.02"),
        *("--json", str(out_json), "--plot", str(out_png), "--no-progress"),
    )
    assert code == 0, out + err
    data = json.loads(out_json.read_text())
    assert data["verdicts"] == {
        "translation_x": "conserved",
        "translation_y": "conserved",
        "translation_z": "conserved",
        "rotation_z": "conserved",
        "time": "conserved",
    }
    assert data["batch"] == 2 and data["steps"] == 8 and data["dt"] == 0.02
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_bar_goes_to_stderr_and_leaves_the_report_intact(capsys):
    code, out, err = _run(
        capsys, "symnet.systems:Kepler", "-s", "rotation", "--steps", "20", "--batch", "2"
    )
    assert code == 0
    assert out.startswith("Noether check (lagrangian, rk4")
    assert "noether check" not in out  # the bar's label
    assert "\r" not in out


def test_an_error_after_the_bar_started_stays_on_its_own_line(capsys):
    code, out, err = _run(
        capsys, "symnet.systems:CentralPotential", "-s", "rotation", "--dt", "1.0", "--steps", "20"
    )
    assert code == 2 and out == ""
    last = err.split("\r")[-1]
    assert last.startswith("symnet: error: rollout with 'rk4' produced a non-finite state")
    assert "reduce dt" in last and "Traceback" not in err


@pytest.mark.slow
def test_console_script(tmp_path):
    """The installed ``symnet`` entry point, in a fresh process, with --json."""
    script = Path(sys.executable).with_name("symnet")
    assert script.is_file(), f"the console script is not installed next to {sys.executable}"
    proc = subprocess.run(
        [
            str(script),
            "check",
            "symnet.systems:Kepler",
            *("-s", "rotation", "-s", "translation", "--json", "report.json"),
            *FAST,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert "rotation_z: conserved" in proc.stdout and "translation_x: broken" in proc.stdout
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["verdicts"]["rotation_x"] == "conserved"
    assert data["verdicts"]["translation_y"] == "broken"

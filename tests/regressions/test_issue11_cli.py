"""Issue 11, the command line and the report writers: exit codes, paths, masses, noise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from symnet import cli
from symnet.learning.report import LearningReport, LedgerRow

FAST = ["--steps", "6", "--batch", "2", "--no-progress"]
PNG = b"\x89PNG\r\n\x1a\n"
UNEQUAL = "tests.noether._cli_targets:SPRING_UNEQUAL"
UNEQUAL_L = "tests.noether._cli_targets:unequal_pair"


def _check(capsys, *argv):
    code = cli.main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, out, err, *needles):
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("symnet: error: "), lines[0]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def noether_report():
    from symnet.noether import check
    from symnet.systems import TwoBodySpring

    system = TwoBodySpring()
    q, v = system.sample_states(2, torch.Generator().manual_seed(0))
    return check(
        system.lagrangian, ["translation", "permutation"], q, v, dt=0.01, steps=6,
        field=system.acceleration,
    )  # fmt: skip


def _learning_report() -> LearningReport:
    rows = [
        LedgerRow("fc.bias", "translation", "sum b", 2, 1e-17, 2e-17, None,
                  "matches recursion", "ok"),
        LedgerRow("w", "scale", "|w|^2", 1, 0.1, None, 1e-3, "no prediction", "no recursion"),
    ]  # fmt: skip
    charges = {"fc.bias": torch.zeros(4, 2, dtype=torch.float64),
               "w": torch.ones(4, 1, dtype=torch.float64)}  # fmt: skip
    return LearningReport(rows, charges, {"fc.bias": charges["fc.bias"], "w": None}, "SGD", [], 3)


# ------------------------------------------------------------------ item 1: --masses


def test_item1_masses_option_reaches_the_check(capsys):
    base = [UNEQUAL_L, "-s", "boost", "--config-shape", "2,3", *FAST]
    code, out, err = _check(capsys, *base, "--masses", "1,2")
    assert code == 0, out + err
    assert "boost_x: conserved" in out
    code, out, err = _check(capsys, *base, "--masses", "1,1")  # the wrong masses are used
    assert code == 1, out + err
    assert "boost_x: broken" in out


def test_item1_a_single_mass_is_every_particles(capsys):
    code, out, err = _check(
        capsys, "tests.noether._cli_targets:harmonic_pair", "-s", "boost_y",
        "--config-shape", "2,2", "--masses", "1.0", *FAST,
    )  # fmt: skip
    assert code == 0, out + err
    assert "boost_y: conserved" in out


@pytest.mark.parametrize("names", [["boost"], ["boost_x", "boost_z"]])
def test_item1_system_with_unequal_masses_is_galilean_invariant(capsys, names):
    argv = [UNEQUAL]
    for name in names:
        argv += ["-s", name]
    code, out, err = _check(capsys, *argv, *FAST)
    assert code == 0, out + err
    assert "broken" not in out


def test_item1_masses_option_overrides_the_systems(capsys):
    code, out, err = _check(capsys, UNEQUAL, "-s", "boost", "--masses", "1,1", *FAST)
    assert code == 1, out + err
    assert "boost_x: broken" in out


@pytest.mark.parametrize(
    ("value", "needles"),
    [
        ("1,x", ["--masses", "'1,x'"]),
        ("0", ["--masses", "positive"]),
        ("-1,2", ["--masses", "positive"]),
        ("nan", ["--masses", "finite"]),
        ("1,,2", ["--masses"]),
        ("1,2,3", ["masses"]),
    ],
)
def test_item1_bad_masses_exit_2(capsys, value, needles):
    code, out, err = _check(capsys, UNEQUAL, "-s", "boost", f"--masses={value}", *FAST)
    _one_line_error(code, out, err, *needles)


def test_item1_masses_without_a_boost_are_refused(capsys):
    code, out, err = _check(capsys, UNEQUAL, "-s", "time", "--masses", "1,2", *FAST)
    _one_line_error(code, out, err, "--masses", "boost")


# ------------------------------------------------------------------ item 14: exit codes


@pytest.mark.parametrize(
    ("source", "needles"),
    [
        ("def L(q, qdot\n", ["SyntaxError"]),
        ("raise RuntimeError('boom at import')\n", ["RuntimeError", "boom at import"]),
        ("import sys\nsys.exit('bye')\n", ["SystemExit"]),
        ("import no_such_module_symnet_test\n", ["no_such_module_symnet_test"]),
    ],
)
def test_item14_a_module_failing_at_import_exits_2(capsys, tmp_path, monkeypatch, source, needles):
    name = f"broken_mod_{abs(hash(source))}"
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    code, out, err = _check(capsys, f"{name}:L", "-s", "time", "--config-shape", "2", *FAST)
    _one_line_error(code, out, err, f"cannot import module {name!r}", *needles)


def test_item14_traceback_flag_shows_the_import_error(tmp_path, monkeypatch):
    (tmp_path / "broken_mod_tb.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(ValueError, match="cannot import") as info:
        cli.main(["--traceback", "check", "broken_mod_tb:L", "-s", "time", *FAST])
    assert isinstance(info.value.__cause__, RuntimeError)


def test_item14_convergence_error_exits_2(capsys):
    code, out, err = _check(
        capsys, "symnet.systems:Kepler", "-s", "rotation", "--method", "implicit_midpoint",
        "--dt", "2", *FAST,
    )  # fmt: skip
    _one_line_error(code, out, err, "did not converge", "reduce dt")


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_item14_and_20_output_path_is_a_directory_exits_2(capsys, tmp_path, option):
    target = tmp_path / "adir"
    target.mkdir()
    code, out, err = _check(capsys, "symnet.systems:Kepler", "-s", "time", option, str(target),
                            *FAST)  # fmt: skip
    _one_line_error(code, out, err, option, "directory")
    assert out == ""  # refused before the check ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]  # no adir.png
    code, out, err = _check(capsys, "symnet.systems:Kepler", "-s", "time", option,
                            str(tmp_path / "new") + os.sep, *FAST)  # fmt: skip
    _one_line_error(code, out, err, option, "directory")


def test_item14_plot_path_without_extension_is_honoured(capsys, tmp_path):
    code, out, err = _check(capsys, "symnet.systems:Kepler", "-s", "rotation_z", "--plot",
                            str(tmp_path / "charges"), *FAST)  # fmt: skip
    assert code == 0, out + err
    assert (tmp_path / "charges").read_bytes()[:8] == PNG
    assert not (tmp_path / "charges.png").exists()


def test_item14_discrete_only_run_exits_0_with_plot_and_json(capsys, tmp_path):
    png, js = tmp_path / "perm.png", tmp_path / "perm.json"
    code, out, err = _check(capsys, "symnet.systems:TwoBodySpring", "-s", "permutation",
                            "--plot", str(png), "--json", str(js), *FAST)  # fmt: skip
    assert code == 0, out + err
    assert err == ""
    assert png.read_bytes()[:8] == PNG
    assert json.loads(js.read_text())["verdicts"] == {"permutation": "conserved"}


# ------------------------------------------------------------------ item 16: noise


def test_item16_demo_help_says_what_it_does(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "tour of groups" not in out
    assert "Lagrangian networks" in out


def test_item16_report_tables_have_no_trailing_spaces(noether_report):
    for text in (str(noether_report), str(_learning_report())):
        for line in text.splitlines():
            assert line == line.rstrip(), repr(line)


_JVP_SNIPPET = """
import torch
from symnet.noether import check
from symnet.systems import TwoBodySpring
s = TwoBodySpring()
q, v = s.sample_states(2, torch.Generator().manual_seed(0))
check(s.lagrangian, ["rotation", "time"], q, v, dt=0.01, steps=4)
print("quiet")
try:
    torch.jit.script(lambda x: x + 1)
except DeprecationWarning:
    print("user's own call still warns")
"""


@pytest.mark.slow  # a fresh process (about 3 s)
def test_item16_jvp_does_not_emit_the_jit_script_deprecation():
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", _JVP_SNIPPET],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["quiet", "user's", "own", "call", "still", "warns"]


# ------------------------------------------------------------------ item 17: look-alikes


def _lookalike_dir(tmp_path: Path) -> Path:
    (tmp_path / "matplotlib.py").write_text(
        "open('SHADOW_RAN', 'w').write('ran')\nraise SystemExit('the look-alike ran')\n"
    )
    (tmp_path / "user_lagrangian.py").write_text(
        "def L(q, qdot):\n    return 0.5 * (qdot**2).sum(-1) - 0.5 * (q**2).sum(-1)\n"
    )
    return tmp_path


_ARGS = ["check", "user_lagrangian:L", "-s", "time", "--config-shape", "2", "--plot", "p.png",
         "--steps", "4", "--batch", "1", "--no-progress"]  # fmt: skip


@pytest.mark.slow  # a fresh process (about 3 s)
def test_item17_a_lookalike_module_in_the_cwd_does_not_run(tmp_path):
    cwd = _lookalike_dir(tmp_path)
    script = Path(sys.executable).with_name("symnet")
    proc = subprocess.run([str(script), *_ARGS], cwd=cwd, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert not (cwd / "SHADOW_RAN").exists()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (cwd / "p.png").read_bytes()[:8] == PNG


@pytest.mark.slow
def test_item17_python_m_does_not_run_lookalikes_either(tmp_path):
    cwd = _lookalike_dir(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "symnet.cli", *_ARGS], cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert not (cwd / "SHADOW_RAN").exists()
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_item17_a_local_file_named_like_an_installed_module_gets_a_hint(
    capsys, tmp_path, monkeypatch
):
    (tmp_path / "json.py").write_text("def L(q, qdot):\n    return (qdot**2).sum(-1)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    code, out, err = _check(capsys, "json:L", "-s", "time", "--config-shape", "2", *FAST)
    _one_line_error(code, out, err, "has no attribute 'L'", "json.py", "installed", "rename")


def test_item17_cwd_is_searched_after_installed_packages(capsys, tmp_path, monkeypatch):
    _lookalike_dir(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    code, out, err = _check(capsys, "user_lagrangian:L", "-s", "time", "--config-shape", "2",
                            *FAST)  # fmt: skip
    assert code == 0, out + err
    site = max(i for i, p in enumerate(sys.path) if "site-packages" in p)
    assert sys.path.index(str(tmp_path)) > site


# ------------------------------------------------------------------ item 20: paths


def test_item20_check_help_states_the_exit_codes(capsys):
    assert cli.main(["check", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0 every symmetry is conserved" in out
    assert "1 one is broken or inconclusive" in out
    assert "2 bad input" in out


@pytest.mark.parametrize("which", ["noether", "learning"])
def test_item20_report_plot_returns_the_file_it_wrote(noether_report, tmp_path, which):
    report = noether_report if which == "noether" else _learning_report()
    written = report.plot(str(tmp_path / "x"))
    assert written == tmp_path / "x"
    assert written.read_bytes()[:8] == PNG
    assert not (tmp_path / "x.png").exists()
    svg = report.plot(tmp_path / "sub" / "x.svg")
    assert svg == tmp_path / "sub" / "x.svg" and b"<svg" in svg.read_bytes()[:400]


@pytest.mark.parametrize("which", ["noether", "learning"])
def test_item20_report_writers_refuse_directories(noether_report, tmp_path, which):
    report = noether_report if which == "noether" else _learning_report()
    with pytest.raises(ValueError, match="path .*directory"):
        report.plot(tmp_path)
    with pytest.raises(ValueError, match="path .*directory"):
        report.to_json(tmp_path)
    with pytest.raises(ValueError, match="format 'bogus'.*png"):
        report.plot(tmp_path / "x.bogus")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        report.to_json(blocker / "r.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    text = report.to_json(tmp_path / "new" / "r.json")
    assert (tmp_path / "new" / "r.json").read_text() == text + "\n"


# ------------------------------------------------------------------ sweep


def test_sweep_json_and_plot_cannot_be_the_same_file(capsys, tmp_path):
    path = str(tmp_path / "r.png")
    code, out, err = _check(capsys, "symnet.systems:Kepler", "-s", "time", "--json", path,
                            "--plot", path, *FAST)  # fmt: skip
    _one_line_error(code, out, err, "--json", "--plot", "same file")


def test_sweep_plot_under_a_file_exits_2(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    code, out, err = _check(capsys, "symnet.systems:Kepler", "-s", "time", "--plot",
                            str(tmp_path / "file" / "p.png"), *FAST)  # fmt: skip
    _one_line_error(code, out, err, "--plot", "not a directory")


def test_sweep_unknown_plot_format_exits_2_before_the_run(capsys, tmp_path):
    code, out, err = _check(capsys, "symnet.systems:Kepler", "-s", "time", "--plot",
                            str(tmp_path / "p.bogus"), *FAST)  # fmt: skip
    _one_line_error(code, out, err, "--plot", "format 'bogus'")
    assert out == ""


def test_sweep_missing_matplotlib_exits_2_before_the_run(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = _check(capsys, "symnet.systems:Kepler", "-s", "time", "--plot",
                            str(tmp_path / "p.png"), *FAST)  # fmt: skip
    _one_line_error(code, out, err, "matplotlib")
    assert out == ""


@pytest.mark.parametrize(
    ("target", "needles"),
    [
        ("symnet.systems:", ["MODULE:OBJECT"]),
        (":Kepler", ["MODULE:OBJECT"]),
        ("symnet.systems:System", ["cannot create", "System"]),
    ],
)
def test_sweep_bad_targets_exit_2(capsys, target, needles):
    code, out, err = _check(capsys, target, "-s", "time", *FAST)
    _one_line_error(code, out, err, *needles)


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--seed", str(2**70)], ["--seed", "2**63"]),
        (["--batch", str(10**12)], ["--batch", "too large"]),
    ],
)
def test_sweep_out_of_range_numbers_exit_2(capsys, extra, needles):
    argv = ["symnet.systems:Kepler", "-s", "time", "--steps", "6", "--no-progress", *extra]
    code, out, err = _check(capsys, *argv)
    _one_line_error(code, out, err, *needles)


def test_sweep_demo_needs_matplotlib_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setenv("SYMNET_DEMO_SMALL", "1")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matplotlib" in err


def test_sweep_demo_refuses_an_out_dir_that_is_a_file(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "out"
    blocker.write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMNET_DEMO_SMALL", "1")
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out_dir" in err and "not a directory" in err


def test_sweep_unwritable_directory_is_refused(tmp_path, noether_report, capsys, monkeypatch):
    """Root may write anywhere, so the permission check itself is what is tested."""
    import symnet._report_io as io

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(io.os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode))
    with pytest.raises(ValueError, match="not writable"):
        noether_report.to_json(locked / "sub" / "r.json")
    with pytest.raises(ValueError, match="not writable"):
        noether_report.plot(locked / "r.png")
    code, out, err = _check(capsys, "symnet.systems:Kepler", "-s", "time", "--json",
                            str(locked / "r.json"), *FAST)  # fmt: skip
    _one_line_error(code, out, err, "--json", "not writable")
    assert list(locked.iterdir()) == []

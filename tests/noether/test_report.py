"""The Noether report: table, JSON schema, plot, charges and verdicts."""

from __future__ import annotations

import json
import math

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Permutation, Rotation, TimeShift, Translation
from symnet.noether.report import SCHEMA

VERDICTS = {"conserved", "broken", "inconclusive"}
ROW_KEYS = {
    "group": (str, type(None)),
    "generator": str,
    "charge": str,
    "invariance_error": float,
    "finite_error": (float, type(None)),
    "drift": (float, str, type(None)),
    "drift_half": (float, str, type(None)),
    "measured_order": (float, str, type(None)),
    "order": (int, type(None)),
    "balance_residual": (float, str, type(None)),
    "flow_error": (float, type(None)),
    "fixed_state_error": (float, type(None)),
    "verdict": str,
    "reason": str,
}
STEPS, BATCH = 20, 3


@pytest.fixture(scope="module")
def report() -> nt.NoetherReport:
    """Two-body spring: every kind of row (conserved, broken, quasi-symmetry, discrete)."""
    system = S.TwoBodySpring(m1=1.0, m2=1.0)
    q, v = system.sample_states(BATCH, torch.Generator().manual_seed(0))
    return nt.check(
        system.lagrangian,
        [*system.symmetries, *system.broken],
        q,
        v,
        dt=0.01,
        steps=STEPS,
        field=system.acceleration,
    )


def free_particle(q, v):
    return 0.5 * (v**2).sum((-1, -2))


@pytest.fixture(scope="module")
def exact_report() -> nt.NoetherReport:
    """A free particle: momentum is constant to the last bit, so drifts are 0 and orders nan."""
    q = torch.ones(2, 1, 2, dtype=torch.float64)
    return nt.check(free_particle, Translation(2), q, q, dt=0.1, steps=4, field=lambda q, v: 0 * q)


def test_charges_times_and_verdicts(report):
    names = [r.generator for r in report.rows]
    assert names[-1] == "permutation"  # discrete rows last, no charge
    continuous = names[:-1]
    assert list(report.charges) == continuous
    for name in continuous:
        assert report.charges[name].shape == (STEPS + 1, BATCH)
        assert report.charges[name].dtype == torch.float64
    assert report.times.shape == (STEPS + 1, BATCH)
    torch.testing.assert_close(report.times[-1], torch.full((BATCH,), 0.2, dtype=torch.float64))
    assert isinstance(report.verdicts, dict)
    assert report.verdicts == {r.generator: r.verdict for r in report.rows}
    assert report.verdicts["dilation"] == "broken"
    assert all(v == "conserved" for k, v in report.verdicts.items() if k != "dilation")
    assert not report.all_conserved
    assert report.row("rotation_z").charge == "L_z"
    with pytest.raises(KeyError, match="rotation_w"):
        report.row("rotation_w")


def test_table_is_aligned_and_complete(report):
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == f"Noether check (lagrangian, rk4, dt=0.01, steps={STEPS}, batch={BATCH})"
    header, rule, *rest = lines[1:]
    table = [header, rule, *rest[: len(report.rows)]]
    # every cell padded to its column, except the last one (no trailing spaces)
    assert all(len(line) <= len(rule) for line in table)
    assert all(line == line.rstrip() for line in table)
    # column starts from the rule of dashes; every cell starts there
    starts = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]
    assert len(starts) == 9
    for line in table:
        for s in starts:
            assert line[s] != " " and (s == 0 or line[s - 1] == " "), line
    assert header.split() == [
        "generator",
        "charge",
        "invariance",
        "finite",
        "drift(dt)",
        "drift(dt/2)",
        "order",
        "balance",
        "verdict",
    ]
    for row, line in zip(report.rows, table[2:], strict=True):
        assert line.startswith(row.generator + " ")
        assert line.rstrip().endswith(row.verdict)
    # then one reason per row
    for row in report.rows:
        assert f"  {row.generator}: {row.verdict} - {row.reason}" in lines
    assert "flow 0.0e+00" in text  # the discrete row shows its flow error


def _no_bare_constants(name: str) -> float:
    raise AssertionError(f"JSON contains the non-standard constant {name}")


def _check_schema(data: dict) -> None:
    assert data["schema"] == SCHEMA == "symnet.noether.report/1"
    assert data["form"] in ("lagrangian", "hamiltonian")
    assert isinstance(data["method"], str)
    assert isinstance(data["dt"], float) and isinstance(data["t0"], float)
    assert isinstance(data["steps"], int) and isinstance(data["batch"], int)
    assert set(data["tolerances"]) == {
        "invariance",
        "broken",
        "drift",
        "order_slack",
        "balance",
        "flow",
    }
    assert all(isinstance(x, float) for x in data["tolerances"].values())
    for row in data["rows"]:
        assert set(row) == set(ROW_KEYS)
        for key, types in ROW_KEYS.items():
            assert isinstance(row[key], types), (key, row[key])
            if isinstance(row[key], str) and key not in ("group", "generator", "charge"):
                assert key in ("verdict", "reason") or row[key] in ("inf", "-inf", "nan")
        assert row["verdict"] in VERDICTS
    assert data["verdicts"] == {r["generator"]: r["verdict"] for r in data["rows"]}


def test_json_follows_the_schema(report, tmp_path):
    text = report.to_json()
    data = json.loads(text, parse_constant=_no_bare_constants)
    _check_schema(data)
    assert data["steps"] == STEPS and data["batch"] == BATCH and data["method"] == "rk4"
    assert data["verdicts"] == report.verdicts
    perm = data["rows"][-1]
    assert perm["generator"] == "permutation" and perm["drift"] is None
    assert isinstance(perm["flow_error"], float) and perm["order"] is None
    dilation = next(r for r in data["rows"] if r["generator"] == "dilation")
    assert dilation["group"] is None and dilation["charge"] == "J[dilation]"
    assert dilation["finite_error"] is None  # no finite action for a custom generator

    written = report.to_json(tmp_path / "report.json")
    assert written == text
    assert json.loads((tmp_path / "report.json").read_text()) == data


def test_non_finite_numbers_are_strings_in_json(exact_report):
    rows = exact_report.rows
    assert all(r.drift == 0.0 and r.drift_half == 0.0 for r in rows)
    assert all(math.isnan(r.measured_order) for r in rows)
    data = json.loads(exact_report.to_json(), parse_constant=_no_bare_constants)
    _check_schema(data)
    assert {r["measured_order"] for r in data["rows"]} == {"nan"}
    assert exact_report.all_conserved
    assert "-/4" in str(exact_report)  # no order to measure


def test_plot_writes_a_png(report, tmp_path):
    path = report.plot(tmp_path / "sub" / "charges.png")
    assert path == tmp_path / "sub" / "charges.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_plot_of_discrete_symmetries_only_shows_their_verdicts(tmp_path):
    system = S.IdenticalParticles(N=3, potential="gaussian")
    q, v = system.sample_states(2, torch.Generator().manual_seed(0))
    report = nt.check(
        system.lagrangian, Permutation(), q, v, dt=0.01, steps=5, field=system.acceleration
    )
    assert report.charges == {}
    path = report.plot(tmp_path / "x.png")
    assert path == tmp_path / "x.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_lines_have_no_trailing_spaces(report, exact_report):
    for text in (str(report), str(exact_report)):
        assert all(line == line.rstrip() for line in text.splitlines())


def test_hamiltonian_report_says_so():
    system = S.IsotropicOscillator()
    q, v = system.sample_states(2, torch.Generator().manual_seed(0))
    report = nt.check_hamiltonian(
        system.hamiltonian,
        [Rotation(2), TimeShift()],
        q,
        system.momentum(q, v),
        dt=0.05,
        steps=10,
    )
    assert str(report).startswith("Noether check (hamiltonian, leapfrog, dt=0.05")
    _check_schema(json.loads(report.to_json()))
    assert report.all_conserved, str(report)


def test_noether_report_is_a_report(report, exact_report):
    from symnet.report import Report

    assert isinstance(report, Report)
    assert report.passed is False and report.all_conserved is False  # dilation is broken
    assert exact_report.passed and exact_report.all_conserved
    assert report.row_passed(report.row("rotation_z"))
    assert not report.row_passed(report.row("dilation"))
    assert report.table().splitlines()[0].split()[:2] == ["generator", "charge"]

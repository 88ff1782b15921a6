"""The report, the tolerance table, reproducibility, scale-free errors, no side effects."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from symnet.groups import Permutation, Rotation, Translation
from symnet.testing import (
    TOLERANCES,
    CheckResult,
    DtypeTolerance,
    SymmetryAssertionError,
    SymmetryReport,
    assert_invariant,
)

from ._functions import DeepSets, OrderedSets, external_field, pair_distances, randn

E3xSN = Translation(3) * Rotation(3) * Permutation()


def test_tolerance_table():
    assert TOLERANCES[torch.float64] == DtypeTolerance(rtol=1e-9, atol=0.0)
    assert TOLERANCES[torch.float32] == DtypeTolerance(rtol=1e-4, atol=0.0)
    with pytest.raises(TypeError):
        TOLERANCES[torch.float16] = DtypeTolerance(1e-2)  # read-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        TOLERANCES[torch.float64].rtol = 1.0


def test_report_rows_and_table():
    report = assert_invariant(pair_distances, E3xSN, randn(3, 4, 3), "point", n_samples=2)
    assert isinstance(report, SymmetryReport) and report.passed
    assert report.fn == "pair_distances" and report.group == repr(E3xSN)
    # issue 13: each continuous factor of the product is also sampled alone (rows name it)
    assert list(report.element_errors) == [
        "sample 0",
        "sample 1",
        "translation sample 0",
        "rotation sample 0",
        "transposition_01",
        "cycle",
    ]
    assert list(report.generator_errors) == E3xSN.generator_names()
    assert all(isinstance(r, CheckResult) and r.passed for r in report.results)
    assert report.failures == [] and report.max_error < 1e-12
    text = str(report)
    first, second = text.splitlines()[:2]
    assert first == f"pair_distances invariant under {E3xSN!r}: PASS"
    assert second.startswith("max relative error") and second.endswith("(float64, rtol=1e-09)")
    for name in [*report.element_errors, *report.generator_errors]:
        assert name in text
    assert "FAIL" not in text


def test_failure_carries_the_full_report():
    with pytest.raises(SymmetryAssertionError) as info:
        assert_invariant(external_field, E3xSN, randn(3, 4, 3), "point", n_samples=2)
    report = info.value.report
    assert isinstance(info.value, AssertionError)
    assert len(report.results) == 6 + 6 and not report.passed  # 2 + 2 factor samples + 2
    # translations and rotations fail (a field along x); permutations do not
    failed = {r.name for r in report.failures}
    assert {"translation_x", "rotation_y", "rotation_z", "sample 0"} <= failed
    assert {"translation sample 0", "rotation sample 0"} <= failed  # each factor named
    assert not {"transposition_01", "cycle", "translation_y", "rotation_x"} & failed
    assert "FAIL" in str(report) and str(report).splitlines()[0].endswith(": FAIL")


def test_flags_select_the_checks():
    q = randn(3, 4, 3)
    only_elements = assert_invariant(pair_distances, E3xSN, q, "point", check_generators=False)
    assert {r.check for r in only_elements.results} == {"sample", "discrete"}
    only_generators = assert_invariant(pair_distances, E3xSN, q, "point", check_elements=False)
    assert {r.check for r in only_generators.results} == {"generator"}
    none = assert_invariant(pair_distances, E3xSN, q, "point", n_samples=0, check_generators=False)
    assert set(none.element_errors) == {"transposition_01", "cycle"}


def test_seed_and_generator_make_it_reproducible():
    q = randn(3, 4, 3)
    a = assert_invariant(OrderedSets(), Rotation(3), (q, randn(3, 4, 2)), ("point", "scalar"))
    b = assert_invariant(OrderedSets(), Rotation(3), (q, randn(3, 4, 2)), ("point", "scalar"))
    assert a.results == b.results
    assert _errors(q, seed=7) == _errors(q, seed=7) != _errors(q, seed=8)


def _errors(q, seed):
    with pytest.raises(SymmetryAssertionError) as info:
        assert_invariant(
            external_field, Rotation(3), q, "point", rng=torch.Generator().manual_seed(seed)
        )
    return info.value.report.element_errors


def test_errors_are_scale_free():
    """Scaling fn or its inputs leaves the relative errors (almost) unchanged."""
    q = randn(3, 4, 3)

    def errors(scale_fn, scale_q):
        with pytest.raises(SymmetryAssertionError) as info:
            assert_invariant(
                lambda q: scale_fn * external_field(q / scale_q), Translation(3), q * scale_q,
                "point", n_samples=2,
            )  # fmt: skip
        return info.value.report

    base = errors(1.0, 1.0)
    for scale_fn, scale_q in [(1e8, 1.0), (1e-8, 1.0), (1.0, 1e6), (1.0, 1e-6)]:
        other = errors(scale_fn, scale_q)
        for r0, r1 in zip(base.results, other.results, strict=True):
            # finite translations have unit size, so only their errors depend on the scale of q
            if r0.check == "generator" or scale_q == 1.0:
                assert r1.error == pytest.approx(r0.error, rel=1e-6, abs=1e-15)
    # an exact symmetry stays at round-off whatever the scale of fn
    big = assert_invariant(lambda q: 1e12 * pair_distances(q), E3xSN, 3.0 * q, "point")
    assert big.max_error < 1e-12


def test_atol_and_rtol_override():
    q = randn(3, 4, 3)
    report = assert_invariant(external_field, Translation(3), q, "point", rtol=10.0)
    assert report.passed and report.tolerance == DtypeTolerance(rtol=10.0)
    report = assert_invariant(external_field, Translation(3), q, "point", atol=1e3)
    assert report.passed and all(r.tolerance > 1.0 for r in report.results)


def test_user_module_and_tensors_are_not_modified():
    model = OrderedSets()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    q, s = randn(3, 5, 3, dtype=torch.float32), randn(3, 5, 2, dtype=torch.float32)
    q0, s0 = q.clone(), s.clone()
    q.requires_grad_(True)
    assert_invariant(model, Rotation(3), (q, s), ("point", "scalar"))
    with pytest.raises(AssertionError):
        assert_invariant(model, E3xSN, (q, s), ("point", "scalar"))
    for k, v in model.state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, state[k])
    assert all(p.grad is None for p in model.parameters())
    assert q.dtype == s.dtype == torch.float32 and q.grad is None
    assert torch.equal(q.detach(), q0) and torch.equal(s, s0)


def test_float32_model_in_float64_by_default():
    model = DeepSets()
    q, s = randn(2, 5, 3, dtype=torch.float32), randn(2, 5, 2, dtype=torch.float32)
    report = assert_invariant(model, E3xSN, (q, s), ("point", "scalar"))
    assert report.dtype == torch.float64 and report.max_error < 1e-12
    assert next(model.parameters()).dtype == torch.float32


# ------------------------------------------------------------ the shared report base


def test_symmetry_report_is_a_report_with_json_and_plot(tmp_path):
    from symnet.report import Report

    report = assert_invariant(pair_distances, E3xSN, randn(3, 4, 3), "point", n_samples=2)
    assert isinstance(report, Report) and report.rows is report.results
    data = json.loads(report.to_json(tmp_path / "r.json"))
    assert data["schema"] == "symnet.testing.report/1" and data["passed"] is True
    assert data["property"] == "invariant" and data["dtype"] == "float64"
    assert len(data["rows"]) == len(report.results)
    assert set(data["rows"][0]) == {
        "check",
        "name",
        "output",
        "error",
        "tolerance",
        "passed",
        "factor",
    }
    assert json.loads((tmp_path / "r.json").read_text()) == data
    pytest.importorskip("matplotlib")
    assert report.plot(tmp_path / "r.png").stat().st_size > 0


def test_format_table_and_the_base_class():
    from symnet._report_io import format_table
    from symnet.report import Report

    text = format_table(["a", "err"], [["x", "1.0"], ["long", "10.0"]], align="<>", indent="  ")
    assert text.splitlines() == ["  a      err", "  ----  ----", "  x      1.0", "  long  10.0"]
    assert format_table(["a", "b"], []).splitlines() == ["a  b", "-  -"]
    with pytest.raises(ValueError, match="one entry per column"):
        format_table(["a", "b"], [["x"]])

    @dataclasses.dataclass
    class Row:
        name: str
        passed: bool

    @dataclasses.dataclass
    class Mine(Report):
        rows: list

        def columns(self):
            return ["name", ""], "<<"

        def cells(self, r):
            return [r.name, "ok" if r.passed else "FAIL"]

    good, bad, empty = Mine([Row("a", True)]), Mine([Row("a", True), Row("b", False)]), Mine([])
    assert good.passed and not bad.passed and not empty.passed
    assert str(bad).splitlines()[0] == "Mine: FAIL" and "b     FAIL" in str(bad)
    assert "nothing was checked" in str(empty)
    assert json.loads(good.to_json()) == {"schema": "", "rows": [{"name": "a", "passed": True}]}
    with pytest.raises(NotImplementedError, match="Mine has no plot"):
        good.plot("x.png")


def test_progress_helper_is_silent_when_disabled():
    from symnet._progress import NoBar, progress

    with progress(False, 3, "x") as bar:
        assert isinstance(bar, NoBar)
        bar.update()
        bar.set_postfix({"loss": "1"}, refresh=False)
    with progress(True, 2, "x", unit="step") as bar:
        bar.update(2)
        assert bar.n == 2 and bar.total == 2

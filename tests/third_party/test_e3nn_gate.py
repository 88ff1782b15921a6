"""e3nn's gate network (``gate_points_2101.Network``), as shipped: O(3) with parity.

The network takes a dictionary ``{"pos": (sum N_i, 3), "batch": (sum N_i,)}``
and returns one row of its ``irreps_out`` per graph. Its ``radius_graph``
uses ``torch.cdist``, which ``torch.func.jvp`` cannot trace, so the Lie
derivatives come from the double-vjp fallback.
"""

from __future__ import annotations

from functools import cache

import pytest
import torch
from e3nn import o3

from symnet.testing import SymmetryAssertionError, assert_equivariant
from tests.third_party._checks import E3_WITH_REFLECTIONS, factor_rows_pass, failing
from tests.third_party._models import gate_network, molecules

KINDS = {"pos": "point", "batch": "batch"}


@cache
def _model(irreps_out: str, dtype: torch.dtype = torch.float64):
    return gate_network(irreps_out=irreps_out, dtype=dtype)


def _inputs(n_graphs: int = 2) -> dict[str, torch.Tensor]:
    _, pos = molecules(n_graphs)
    batch = torch.arange(n_graphs).repeat_interleave(pos.shape[1])
    return {"pos": pos.reshape(-1, 3), "batch": batch}


@pytest.mark.parametrize("irreps_out", ["0e + 1o", "0o + 1e"])
def test_passes_o3_with_its_declared_parity(irreps_out):
    report = assert_equivariant(
        _model(irreps_out), E3_WITH_REFLECTIONS, _inputs(), KINDS, o3.Irreps(irreps_out)
    )
    assert report.passed and not report.vacuous
    assert report.derivative_method == "double-vjp"
    assert report.max_error < 1e-12
    assert "reflection" in {r.name for r in report.rows}


@pytest.mark.parametrize(("built", "declared"), [("0e + 1o", "0e + 1e"), ("0o + 1e", "0e + 1e")])
def test_a_wrongly_declared_parity_fails_under_the_reflection(built, declared):
    with pytest.raises(SymmetryAssertionError, match="reflection") as info:
        assert_equivariant(
            _model(built), E3_WITH_REFLECTIONS, _inputs(), KINDS, o3.Irreps(declared)
        )
    report = info.value.report
    assert "reflection" in failing(report)
    assert report.max_error > 1e-2
    # proper rotations, translations and permutations cannot see the parity
    for factor in ("rotation", "translation", "transposition", "cycle"):
        assert factor_rows_pass(report, factor), factor


def test_built_in_float32_passes_by_default_and_the_wrong_parity_still_fails():
    model = _model("0e + 1o", torch.float32)  # the way e3nn users build it
    report = assert_equivariant(model, E3_WITH_REFLECTIONS, _inputs(), KINDS, o3.Irreps("0e + 1o"))
    assert report.passed and report.tolerance_note  # says why the tolerance is float32's
    with pytest.raises(SymmetryAssertionError, match="reflection"):
        assert_equivariant(model, E3_WITH_REFLECTIONS, _inputs(), KINDS, o3.Irreps("0e + 1e"))

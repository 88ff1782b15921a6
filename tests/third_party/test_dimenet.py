"""PyG's DimeNet++, as shipped, with pure-torch ``radius_graph`` and ``triplets``.

DimeNet++ reaches torch-cluster and torch-sparse through two module-level
names of ``torch_geometric.nn.models.dimenet``; the ``dimenet_graph`` fixture
replaces only those (see :mod:`tests.third_party._models`).
"""

from __future__ import annotations

import warnings
from functools import cache

import pytest
import torch

from symnet.testing import (
    SymmetryAssertionError,
    SymmetryWarning,
    assert_equivariant,
    assert_invariant,
)
from tests.third_party._checks import E3_WITH_REFLECTIONS, factor_rows_pass, failing
from tests.third_party._models import (
    as_batch,
    dimenet_pp,
    molecules,
    radius_graph,
    triplets,
    with_output_initializer,
)

KINDS = {"pos": "point", "z": "label"}
pytestmark = pytest.mark.usefixtures("dimenet_graph")


@cache
def _model(output_initializer: str = "glorot_orthogonal"):
    """The model with PyG's default zero output layers, or re-initialised: one build per module.

    (Building one takes about a second, in sympy.)
    """
    if output_initializer == "zeros":
        return dimenet_pp(output_initializer="zeros")  # PyG's default
    return with_output_initializer(_model("zeros"), output_initializer)


def _energy(model):
    def energy(data):
        return model(data.z, data.pos, data.batch)

    return energy


def test_pure_torch_triplets_list_every_two_hop_path():
    pos = molecules(1, 6, seed=3)[1][0]
    edge_index = radius_graph(pos, 2.5)
    _, _, i, j, k, kj, ji = triplets(edge_index, num_nodes=6)
    edges = {tuple(e) for e in edge_index.T.tolist()}  # (source, target)
    expected = {(a, b, c) for (b, a) in edges for (c, b2) in edges if b2 == b and c != a}
    assert set(zip(i.tolist(), j.tolist(), k.tolist(), strict=True)) == expected
    assert len(i) == len(expected)
    assert torch.equal(edge_index[:, kj], torch.stack([k, j]))  # edge k -> j
    assert torch.equal(edge_index[:, ji], torch.stack([j, i]))  # edge j -> i


def test_energy_is_e3_invariant_with_reflections_and_permutations():
    z, pos = molecules()
    report = assert_invariant(_energy(_model()), E3_WITH_REFLECTIONS, as_batch(z, pos), KINDS)
    assert report.passed and not report.vacuous
    assert report.max_error < 1e-12


def test_forces_by_autograd_are_equivariant_vectors():
    model = _model()

    def forces(data):
        with torch.enable_grad():
            pos = data.pos if data.pos.requires_grad else data.pos.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(
                model(data.z, pos, data.batch).sum(), pos, create_graph=True
            )
        return -grad

    z, pos = molecules()
    report = assert_equivariant(forces, E3_WITH_REFLECTIONS, as_batch(z, pos), KINDS, "vector")
    assert report.passed and report.derivative_method == "double-vjp"


def test_absolute_position_leak_fails_and_names_the_translations():
    model = _model()

    def leaky(data):  # an external field along x: breaks translations and rotations
        field = torch.zeros(data.num_graphs, 1, dtype=data.pos.dtype)
        return model(data.z, data.pos, data.batch) + field.index_add(0, data.batch, data.pos[:, :1])

    z, pos = molecules()
    with pytest.raises(SymmetryAssertionError) as info:
        assert_invariant(leaky, E3_WITH_REFLECTIONS, as_batch(z, pos), KINDS)
    report = info.value.report
    assert "translation_x" in failing(report) and "translation_y" not in failing(report)
    assert not factor_rows_pass(report, "translation")
    assert factor_rows_pass(report, "transposition")  # permutations are not broken
    assert "translation_x" in str(info.value)


def test_zero_initialised_output_is_a_vacuous_pass_with_a_warning():
    z, pos = molecules()
    data = as_batch(z, pos)
    model = _model("zeros")  # PyG's default
    with pytest.warns(SymmetryWarning, match="output_initializer"):
        report = assert_invariant(_energy(model), E3_WITH_REFLECTIONS, data, KINDS)
    assert report.vacuous and "0" in report.vacuous_reason
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SymmetryWarning)
        with pytest.raises(SymmetryAssertionError, match="vacuous"):
            assert_invariant(_energy(model), E3_WITH_REFLECTIONS, data, KINDS, strict=True)

"""egnn-pytorch's EGNN and EGNN_Network, as shipped: E(3) with reflections x S_N.

``EGNN(feats, coors)`` returns updated ``(feats, coors)``: features invariant
(kind ``"scalar"``), coordinates equivariant (``"point"``).
"""

from __future__ import annotations

import pytest
import torch

from symnet.testing import InputMutationError, SymmetryAssertionError, assert_equivariant
from tests.third_party._checks import E3_WITH_REFLECTIONS, factor_rows_pass, failing
from tests.third_party._models import egnn, egnn_network, molecules

KINDS = ("scalar", "point")


def _feats(dim: int = 4, seed: int = 5) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 5, dim, generator=g, dtype=torch.float64)


def test_egnn_layer_is_e3_equivariant_with_reflections_and_permutations():
    _, coors = molecules()
    report = assert_equivariant(egnn(), E3_WITH_REFLECTIONS, (_feats(), coors), KINDS, KINDS)
    assert report.passed and not report.vacuous
    assert report.max_error < 1e-12
    assert "reflection" in {r.name for r in report.rows}


def test_egnn_network_with_atom_types_as_labels():
    z, coors = molecules()  # z: (2, 5) long tokens
    model = egnn_network(num_tokens=10)
    report = assert_equivariant(model, E3_WITH_REFLECTIONS, (z, coors), ("label", "point"), KINDS)
    assert report.passed and report.max_error < 1e-12


def test_absolute_position_leak_fails_and_names_translation_and_rotation():
    model = egnn()

    def leaky(feats, coors):  # adds the x coordinate to the features
        return model(feats + coors[..., :1], coors)

    _, coors = molecules()
    with pytest.raises(SymmetryAssertionError) as info:
        assert_equivariant(leaky, E3_WITH_REFLECTIONS, (_feats(), coors), KINDS, KINDS)
    report = info.value.report
    assert {"translation_x", "rotation_y", "rotation_z", "reflection"} <= failing(report)
    assert "translation_y" not in failing(report) and "rotation_x" not in failing(report)
    assert factor_rows_pass(report, "transposition")  # still permutation equivariant
    assert "translation_x" in str(info.value)


def test_index_dependent_embedding_breaks_permutations():
    # num_positions embeds the node *index*: on tokens (no in-place write to the input)
    z, coors = molecules()
    model = egnn_network(num_tokens=10, num_positions=5)
    with pytest.raises(SymmetryAssertionError, match="transposition|cycle") as info:
        assert_equivariant(model, E3_WITH_REFLECTIONS, (z, coors), ("label", "point"), KINDS)
    report = info.value.report
    assert not factor_rows_pass(report, "transposition")
    for factor in ("translation", "rotation", "reflection"):
        assert factor_rows_pass(report, factor), factor


def test_in_place_position_embedding_is_reported_as_a_mutation():
    # on float features EGNN_Network does `feats += pos_emb`: it writes into its input
    _, coors = molecules()
    feats = _feats()
    before = feats.clone()
    model = egnn_network(num_positions=5)
    with pytest.raises(InputMutationError, match=r"EGNN_Network.*inputs\[0\].*in place"):
        assert_equivariant(model, E3_WITH_REFLECTIONS, (feats, coors), KINDS, KINDS)
    assert torch.equal(feats, before)  # the caller's tensor is untouched

"""PyG's SchNet, as shipped, on a pure-torch radius graph: E(3) x S_N invariant energies.

The model takes atom types ``z`` (long), flat positions ``(sum N_i, 3)`` and a
``batch`` vector; the tests pass it a PyG ``Batch`` (kinds per attribute) or
the flat tensors (a ``"batch"`` kind), atom types as ``"label"``.
"""

from __future__ import annotations

import pytest
import torch

from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant
from tests.third_party._checks import E3_WITH_REFLECTIONS, factor_rows_pass, failing
from tests.third_party._models import as_batch, molecules, schnet

KINDS = {"pos": "point", "z": "label"}


def _energy(model):
    def energy(data):
        return model(data.z, data.pos, data.batch)

    return energy


def _forces(model):
    """Forces ``-dE/dpos`` by ``torch.autograd.grad``, as interatomic potentials compute them."""

    def forces(data):
        with torch.enable_grad():
            pos = data.pos if data.pos.requires_grad else data.pos.clone().requires_grad_(True)
            energy = model(data.z, pos, data.batch)
            (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=True)
        return -grad

    return forces


def test_energy_of_a_pyg_batch_is_e3_invariant_with_reflections_and_permutations():
    z, pos = molecules()
    data = as_batch(z, pos)
    report = assert_invariant(_energy(schnet()), E3_WITH_REFLECTIONS, data, KINDS)
    assert report.passed and not report.vacuous
    assert report.derivative_method == "jvp"
    assert report.max_error < 1e-12
    names = {r.name for r in report.rows}
    assert {"reflection", "transposition_01", "rotation_x", "translation_z"} <= names


def test_energy_in_the_flat_layout_with_a_batch_vector():
    z, pos = molecules(n_graphs=3)
    data = as_batch(z, pos)
    model = schnet()
    report = assert_invariant(
        model, E3_WITH_REFLECTIONS, (data.z, data.pos, data.batch), ("label", "point", "batch")
    )
    assert report.passed and report.max_error < 1e-12
    assert data.pos.dtype == torch.float64 and torch.equal(data.pos, pos.reshape(-1, 3))


def test_graphs_of_unequal_sizes_are_checked_per_size():
    (z4, pos4), (z5, pos5) = molecules(1, 4, seed=1), molecules(2, 5, seed=2)
    from torch_geometric.data import Batch

    graphs = as_batch(z4, pos4).to_data_list() + as_batch(z5, pos5).to_data_list()
    data = Batch.from_data_list(graphs)
    report = assert_invariant(_energy(schnet()), E3_WITH_REFLECTIONS, data, KINDS)
    assert report.passed
    assert any("4 nodes" in r.name for r in report.rows)
    assert any("5 nodes" in r.name for r in report.rows)


def test_forces_by_autograd_are_equivariant_vectors():
    z, pos = molecules()
    report = assert_equivariant(
        _forces(schnet()), E3_WITH_REFLECTIONS, as_batch(z, pos), KINDS, "vector"
    )
    assert report.passed and not report.vacuous
    # torch.func.jvp cannot trace torch.autograd.grad: the check fell back, and says so
    assert report.derivative_method == "double-vjp"
    assert report.max_error < 1e-12


def test_anisotropic_metric_fails_and_names_the_rotations_it_breaks():
    z, pos = molecules()
    broken = schnet(metric=(1.0, 1.0, 2.0))  # edge lengths with diag(1, 1, 2)
    with pytest.raises(SymmetryAssertionError, match=r"rotation_[xy]") as info:
        assert_invariant(_energy(broken), E3_WITH_REFLECTIONS, as_batch(z, pos), KINDS)
    report = info.value.report
    assert report.max_error > 1e-3
    # diag(1, 1, 2) is kept by rotations about z, by the mirror, and by translations
    assert {"rotation_x", "rotation_y"} <= failing(report)
    assert "rotation_z" not in failing(report)
    assert factor_rows_pass(report, "translation")
    assert factor_rows_pass(report, "reflection")
    assert not factor_rows_pass(report, "rotation")


def test_a_dictionary_of_energy_and_forces():
    model = schnet()

    def energy_and_forces(data):  # the output format of MACE-style potentials
        with torch.enable_grad():
            pos = data.pos if data.pos.requires_grad else data.pos.clone().requires_grad_(True)
            energy = model(data.z, pos, data.batch)
            (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=True)
        return {"energy": energy, "forces": -grad}

    z, pos = molecules()
    out_kinds = {"energy": "global", "forces": "vector"}
    report = assert_equivariant(
        energy_and_forces, E3_WITH_REFLECTIONS, as_batch(z, pos), KINDS, out_kinds
    )
    assert report.passed and report.max_error < 1e-12
    assert {r.output for r in report.rows} == {"out['energy']", "out['forces']"}
    with pytest.raises(SymmetryAssertionError, match=r"out\['forces'\]"):
        bad = {"energy": "global", "forces": "axial"}  # forces are polar vectors
        assert_equivariant(energy_and_forces, E3_WITH_REFLECTIONS, as_batch(z, pos), KINDS, bad)

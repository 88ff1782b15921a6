"""Unit-test the symmetries of a PyG-style model, following docs/testing.md.

A small interatomic potential written the way PyG models are: a
``MessagePassing`` layer over a graph given as ``edge_index``, atom types
``z`` embedded per node, flat positions ``(sum N_i, 3)`` and a ``batch``
vector, an energy per graph, and forces ``-dE/dpos`` by
``torch.autograd.grad``. The script checks, with nothing but the recipes of
the "Testing your model" page:

1. the energy of a PyG ``Batch`` is invariant under E(3) with reflections
   and permutations of the atoms (``z`` a ``"label"``, ``edge_index`` an
   ``"index"``, relabelled with the atoms);
2. the forces are equivariant vectors (the Lie derivatives fall back from
   ``torch.func.jvp`` to double-vjp, since the model calls
   ``torch.autograd.grad``);
3. the same model on flat tensors with a ``batch`` vector;
4. three broken twins fail and the message names what broke: an external
   field (translations), an anisotropic distance (rotations about x and y),
   and an ``edge_index`` declared ``"constant"`` (not relabelled, so the
   permuted molecule is a different graph);
5. the untrained model with a zeroed output layer is a vacuous pass: a
   ``SymmetryWarning``, and a failure with ``strict=True``.

Run: ``.venv/bin/python examples/test_your_model.py`` (``SYMNET_EXAMPLE_SMALL=1``
for fewer, smaller molecules).
"""

from __future__ import annotations

import os
import warnings

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from symnet.groups import Permutation, Reflection, Rotation, Translation
from symnet.nn import radius_graph
from symnet.testing import (
    SymmetryAssertionError,
    SymmetryWarning,
    assert_equivariant,
    assert_invariant,
)

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
N_GRAPHS, N_ATOMS = (2, 5) if SMALL else (8, 12)
CUTOFF = 2.5


class Interaction(MessagePassing):
    """Continuous-filter convolution: ``h_i += sum_j W(r_ij) * h_j`` with a smooth cut-off."""

    def __init__(self, hidden: int, n_rbf: int = 16) -> None:
        super().__init__(aggr="add")
        self.register_buffer("centres", torch.linspace(0.0, CUTOFF, n_rbf))
        self.filter = nn.Sequential(nn.Linear(n_rbf, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.update_net = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU())

    def forward(self, h: Tensor, edge_index: Tensor, r: Tensor) -> Tensor:
        """Updated node features ``(num_nodes, hidden)`` from edge lengths ``r`` ``(E,)``."""
        rbf = torch.exp(-4.0 * (r[:, None] - self.centres) ** 2)
        cutoff = 0.5 * (torch.cos(torch.pi * r / CUTOFF) + 1.0) * (r < CUTOFF)
        return h + self.update_net(
            self.propagate(edge_index, h=h, w=self.filter(rbf) * cutoff[:, None])
        )

    def message(self, h_j: Tensor, w: Tensor) -> Tensor:
        """The filtered features of the source node, one row per edge."""
        return h_j * w


class Potential(nn.Module):
    """``energy(z, pos, edge_index, batch) -> (num_graphs, 1)``, PyG's flat layout.

    ``metric`` (a deliberately broken twin) measures distances with
    ``diag(metric)`` instead of the identity.
    """

    def __init__(self, hidden: int = 16, metric: tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.embedding = nn.Embedding(10, hidden)
        self.interactions = nn.ModuleList([Interaction(hidden) for _ in range(2)])
        self.readout = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        self.metric = metric

    def forward(self, z: Tensor, pos: Tensor, edge_index: Tensor, batch: Tensor) -> Tensor:
        """Energies ``(num_graphs, 1)`` of atoms ``z`` ``(n,)`` at ``pos`` ``(n, 3)``."""
        diff = pos[edge_index[0]] - pos[edge_index[1]]
        if self.metric is not None:
            diff = diff * torch.tensor(self.metric, dtype=pos.dtype).sqrt()
        r = diff.norm(dim=-1)
        h = self.embedding(z)
        for interaction in self.interactions:
            h = interaction(h, edge_index, r)
        return scatter(self.readout(h), batch, dim=0, reduce="sum")


def energy_of(model: nn.Module):
    """The energy of a ``Data``/``Batch``: ``(num_graphs, 1)``."""

    def energy(data: Data) -> Tensor:
        return model(data.z, data.pos, data.edge_index, data.batch)

    return energy


def forces_of(model: nn.Module):
    """Forces ``-dE/dpos`` by autograd, ``(sum N_i, 3)``, as interatomic potentials compute them."""

    def forces(data: Data) -> Tensor:
        with torch.enable_grad():
            pos = data.pos if data.pos.requires_grad else data.pos.clone().requires_grad_(True)
            e = model(data.z, pos, data.edge_index, data.batch)
            (grad,) = torch.autograd.grad(e.sum(), pos, create_graph=True)
        return -grad

    return forces


def molecules(seed: int = 0) -> Batch:
    """``N_GRAPHS`` random molecules of ``N_ATOMS`` atoms with their radius graphs."""
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for _ in range(N_GRAPHS):
        pos = 1.2 * torch.randn(N_ATOMS, 3, generator=g, dtype=torch.float64)
        z = torch.randint(0, 10, (N_ATOMS,), generator=g)
        graphs.append(Data(z=z, pos=pos, edge_index=radius_graph(pos, CUTOFF)))
    return Batch.from_data_list(graphs)


def expect_failure(name: str, check, *, names: tuple[str, ...]) -> None:
    """Run ``check``; it must fail, and its message must name one of ``names``."""
    try:
        check()
    except SymmetryAssertionError as err:
        headline = str(err).splitlines()[0]
        assert any(n in str(err) for n in names), f"{name}: {names} not named in\n{err}"
        print(f"{name}: fails as it should -- {headline}")
        return
    raise AssertionError(f"{name}: the check passed, but the model is broken")


def main() -> None:
    """Run the checks; exit non-zero (an AssertionError) when one does not behave."""
    torch.manual_seed(0)
    model = Potential().double().eval()  # a closure over a module: cast it ourselves
    data = molecules()
    group = Translation(3) * Rotation(3) * Reflection(3) * Permutation()
    kinds = {"z": "label", "pos": "point", "edge_index": "index"}

    report = assert_invariant(energy_of(model), group, data, kinds)
    print(report)
    assert not report.vacuous

    report = assert_equivariant(forces_of(model), group, data, kinds, "vector")
    print(f"forces: equivariant, max error {report.max_error:.1e}, "
          f"Lie derivatives by {report.derivative_method}")  # fmt: skip
    assert report.derivative_method == "double-vjp"

    flat = (data.z, data.pos, data.edge_index, data.batch)
    report = assert_invariant(model, group, flat, ("label", "point", "index", "batch"))
    print(f"flat layout: invariant, max error {report.max_error:.1e}")

    field = Potential().double().eval()
    field.load_state_dict(model.state_dict())

    def in_a_field(data: Data) -> Tensor:  # an external field along x: absolute positions leak
        return energy_of(field)(data) + scatter(data.pos[:, :1], data.batch, dim=0, reduce="sum")

    expect_failure(
        "external field", lambda: assert_invariant(in_a_field, group, data, kinds),
        names=("translation_x",),
    )  # fmt: skip
    squashed = Potential(metric=(1.0, 1.0, 2.0)).double().eval()
    squashed.load_state_dict(model.state_dict())
    expect_failure(
        "anisotropic metric", lambda: assert_invariant(energy_of(squashed), group, data, kinds),
        names=("rotation_x", "rotation_y"),
    )  # fmt: skip
    not_relabelled = dict(kinds, edge_index="constant")
    expect_failure(
        "edge_index declared constant",
        lambda: assert_invariant(energy_of(model), group, data, not_relabelled),
        names=("transposition_01", "cycle"),
    )

    untrained = Potential().double().eval()
    nn.init.zeros_(untrained.readout[-1].weight)
    nn.init.zeros_(untrained.readout[-1].bias)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = assert_invariant(energy_of(untrained), group, data, kinds)
    assert report.vacuous and any(issubclass(w.category, SymmetryWarning) for w in caught)
    print(f"zeroed output layer: vacuous pass ({report.vacuous_reason[:60]}...)")
    expect_failure(
        "zeroed output layer, strict=True",
        lambda: assert_invariant(energy_of(untrained), group, data, kinds, strict=True),
        names=("vacuous",),
    )


if __name__ == "__main__":
    main()

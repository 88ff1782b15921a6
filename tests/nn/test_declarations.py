"""Every layer of symnet.nn declares its symmetry: ``assert_equivariant(layer, inputs)``.

The layers are found by introspection of ``symnet.nn.__all__``, so a new
layer without a case here fails :func:`test_every_layer_has_a_case`. Each
case builds the layer small, in float64, with inputs; the declaration must
pass, and the layer with a symmetry-breaking term added to its first output
must fail the same one-line check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import symnet.nn
from symnet.groups import PeriodicBox, Permutation, Rotation, Vector, as_kind
from symnet.testing import SymmetryAssertionError, assert_equivariant

B, N = 3, 5


def _randn(*shape: int, seed: int) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


class _Model(nn.Module):
    """A generic model of points (and vectors) with no symmetry of its own."""

    def __init__(self, outputs: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(3, 3).double()
        self.outputs = outputs

    def forward(self, *xs: Tensor) -> Tensor | tuple[Tensor, ...]:
        q = xs[0]
        y = q + torch.tanh(self.lin(q))
        if self.outputs == 1:
            return y
        return y, xs[1] * torch.tanh(self.lin(q)).sum(-1, keepdim=True)


def _first_particle(x: Tensor) -> Tensor:
    return torch.tanh(nn.functional.linear(x[..., 0, :], torch.ones(1, x.shape[-1]).to(x)))


def _cases() -> dict[str, Callable[[], tuple[nn.Module, tuple[Tensor, ...]]]]:
    from symnet.nn import fully_connected_graph  # noqa: F401 (imports torch_geometric)

    V = Vector(Rotation(3))
    ring = torch.stack([torch.arange(N), (torch.arange(N) + 1) % N])
    ring = torch.cat([ring, ring.flip(0)], 1)  # both directions
    x, v = _randn(B, N, 3, seed=1), _randn(B, N, 3, seed=2)
    h = _randn(B, N, 2, seed=3)
    return {
        "Centered": lambda: (symnet.nn.Centered(_Model(1), "point", "point"), (x,)),
        "DeepSets": lambda: (symnet.nn.DeepSets(2, 8, 3).double(), (h,)),
        "EGNN": lambda: (symnet.nn.EGNN(2, 8, 2, n_layers=1).double(), (h, x)),
        "EGNNConv": lambda: (
            symnet.nn.EGNNConv(2, 8, update_velocity=True).double(),
            (h, x, ring, v),
        ),
        "EGNNLayer": lambda: (symnet.nn.EGNNLayer(2, 8).double(), (h, x)),
        "EquivariantLinear": lambda: (
            symnet.nn.EquivariantLinear(Rotation(3), V * V, V).double(),
            (_randn(B, 9, seed=4),),
        ),
        "EquivariantMLP": lambda: (
            symnet.nn.EquivariantMLP(
                Rotation(3), V + V * V, V, hidden=24, n_layers=2, seed=0
            ).double(),
            (_randn(B, 12, seed=11),),
        ),
        "FrameAveraged": lambda: (
            symnet.nn.FrameAveraged(_Model(2), ("point", "vector"), ("point", "vector")),
            (x, v),
        ),
        "GroupAveraged": lambda: (
            symnet.nn.GroupAveraged(_first_particle, Permutation(), "scalar"),
            (h[..., :4, :],),
        ),
        "InvariantFeatures": lambda: (
            symnet.nn.InvariantFeatures(
                centred=True, output=("pair", "particle", "global"), velocities=True
            ),
            (x, v),
        ),
        "PermEquivariantLinear": lambda: (symnet.nn.PermEquivariantLinear(2, 3).double(), (h,)),
        "PaiNN": lambda: (
            _seeded(lambda: symnet.nn.PaiNN(2, 8, 2, 1, in_vector_features=1, **_PAINN_OUT)),
            (h, x, v[..., None, :]),
        ),
        "PaiNNConv": lambda: (
            _seeded(lambda: symnet.nn.PaiNNConv(2, 4, cutoff=3.0)),
            (h, x, ring, _randn(B, N, 2, 3, seed=11)),
        ),
        "PaiNNLayer": lambda: (
            _seeded(lambda: symnet.nn.PaiNNLayer(2, 4)),
            (h, x, _randn(B, N, 2, 3, seed=12)),
        ),
        "PairPotential": lambda: (
            _seeded(lambda: symnet.nn.PairPotential(2.0, box=PeriodicBox(4.5, dim=3), hidden=(8,))),
            (2.0 * x,),
        ),
    }


#: PaiNN's N-body mode: two output vector channels, new positions from the first.
_PAINN_OUT = {"out_vector_features": 2, "predict_positions": True}


def _seeded(make: Callable[[], nn.Module]) -> nn.Module:
    torch.manual_seed(0)
    return make().double()


#: More declarations of the same classes (options that change them).
EXTRA = {
    "InvariantFeatures[particle, sorted]": lambda: (
        symnet.nn.InvariantFeatures(pooling="sorted", squared=False),
        (_randn(B, N, 3, seed=5),),
    ),
    "EGNNConv[no velocity, projected nodes]": lambda: (
        symnet.nn.EGNNConv(4, 8).double(),
        (_randn(B, N, 4, seed=6), _randn(B, N, 3, seed=7), symnet.nn.fully_connected_graph(N)),
    ),
    "Centered[invariant]": lambda: (
        symnet.nn.Centered(lambda q: (q**2).sum((-1, -2)), "point"),
        (_randn(B, N, 3, seed=8),),
    ),
    "PairPotential[open space]": lambda: (
        _seeded(lambda: symnet.nn.PairPotential(2.0, hidden=(8,))),
        (_randn(B, N, 3, seed=10),),
    ),
    "FrameAveraged[vector frame]": lambda: (
        symnet.nn.FrameAveraged(_Model(1), "vector", "vector"),
        (_randn(B, N, 3, seed=9),),
    ),
}


def _layer_classes() -> list[str]:
    return [
        name
        for name in symnet.nn.__all__
        if isinstance(getattr(symnet.nn, name), type)
        and issubclass(getattr(symnet.nn, name), nn.Module)
    ]


class _Broken(nn.Module):
    """``layer`` with a term that breaks its symmetry added to its first output.

    The term is the first entry of the first point input (else vector, else
    any varying input): translations, rotations and permutations all move it.
    """

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer
        self.group, self.in_kinds, self.out_kinds = layer.group, layer.in_kinds, layer.out_kinds

    def forward(self, *xs: Tensor) -> Tensor | tuple[Tensor, ...]:
        out = self.layer(*xs)
        kinds = [as_kind(k).name for k in self.in_kinds]
        pick = next(
            (i for name in ("point", "vector") for i, k in enumerate(kinds) if k == name),
            next(i for i, k in enumerate(kinds) if k != "constant"),
        )
        x = xs[pick]
        outs = (out,) if isinstance(out, Tensor) else tuple(out)
        s = x.reshape(x.shape[0], -1)[:, 0]
        first = outs[0] + 0.1 * s.reshape(-1, *[1] * (outs[0].dim() - 1))
        return first if isinstance(out, Tensor) else (first, *outs[1:])


def _all_cases() -> dict[str, Any]:
    return {**_cases(), **EXTRA}


def test_every_layer_has_a_case() -> None:
    missing = sorted(set(_layer_classes()) - set(_cases()))
    assert not missing, f"layers of symnet.nn without a declaration test: {missing}"


@pytest.mark.parametrize("name", sorted(set(_layer_classes()) | set(EXTRA)))
def test_declaration_passes_and_mutant_fails(name: str) -> None:
    cases = _all_cases()
    assert name in cases, f"no declaration test for symnet.nn.{name}: add a case"
    layer, inputs = cases[name]()
    for attr in ("group", "in_kinds", "out_kinds"):
        assert hasattr(layer, attr), f"{name} does not declare {attr}"
    report = assert_equivariant(layer, inputs)
    assert report.passed
    assert max(r.error for r in report.results) < 1e-10
    with pytest.raises(SymmetryAssertionError):
        assert_equivariant(_Broken(layer), inputs)

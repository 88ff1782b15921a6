"""Equivariant and invariant layers whose constraints come from :mod:`symnet.groups`.

Equivariant linear layers solved from the groups' generators between
representations (:mod:`symnet.groups.reps`) (:mod:`symnet.nn.equivariant_linear`); layers on
sets (:mod:`symnet.nn.sets`); wrappers that symmetrize any model
(:mod:`symnet.nn.symmetrize`); invariant features and EGNN layers, dense
(:mod:`symnet.nn.egnn`) and on torch_geometric graphs (:mod:`symnet.nn.egnn_conv`,
imported on first use because importing torch_geometric takes seconds).
"""

from __future__ import annotations

import importlib
from typing import Any

from symnet.nn.egnn import EGNN, EGNNLayer
from symnet.nn.equivariant_linear import (
    NULLSPACE_RTOL,
    EquivariantLinear,
    clear_basis_cache,
    constraint_matrix,
    equivariant_basis,
)
from symnet.nn.features import InvariantFeatures, safe_norm
from symnet.nn.pair_potential import PairPotential
from symnet.nn.sets import DeepSets, PermEquivariantLinear
from symnet.nn.symmetrize import Centered, FrameAveraged, GroupAveraged

_LAZY = {
    "EquivariantMLP": "symnet.nn.emlp",
    "PaiNN": "symnet.nn.painn",
    "PaiNNLayer": "symnet.nn.painn",
    "PaiNNConv": "symnet.nn.painn_conv",
    "EGNNConv": "symnet.nn.egnn_conv",
    "fully_connected_graph": "symnet.nn.egnn_conv",
    "radius_graph": "symnet.nn.egnn_conv",
}


_MOVED = {
    name: f"symnet.groups.{name}"
    for name in ("PermRep", "Rep", "Scalar", "SumRep", "TensorRep", "Vector")
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _MOVED or name == "all_permutations":
        import warnings

        from symnet.groups import reps
        from symnet.nn import symmetrize

        new = _MOVED.get(name, "symnet.groups.Permutation().elements((n, d))")
        warnings.warn(
            f"symnet.nn.{name} is deprecated, use {new} instead", DeprecationWarning, stacklevel=2
        )
        return getattr(symmetrize, name) if name == "all_permutations" else getattr(reps, name)
    raise AttributeError(f"module 'symnet.nn' has no attribute {name!r}")


__all__ = [
    "NULLSPACE_RTOL",
    "Centered",
    "DeepSets",
    "EGNN",
    "EGNNConv",
    "EGNNLayer",
    "EquivariantLinear",
    "EquivariantMLP",
    "FrameAveraged",
    "GroupAveraged",
    "InvariantFeatures",
    "PaiNN",
    "PaiNNConv",
    "PaiNNLayer",
    "PairPotential",
    "PermEquivariantLinear",
    "clear_basis_cache",
    "constraint_matrix",
    "equivariant_basis",
    "fully_connected_graph",
    "radius_graph",
    "safe_norm",
]

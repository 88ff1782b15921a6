"""Equivariant and invariant layers whose constraints come from :mod:`symnet.groups`.

Representations (:mod:`symnet.nn.reps`) and equivariant linear layers solved
from the groups' generators (:mod:`symnet.nn.equivariant_linear`); layers on
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
from symnet.nn.reps import PermRep, Rep, Scalar, SumRep, TensorRep, Vector
from symnet.nn.sets import DeepSets, PermEquivariantLinear
from symnet.nn.symmetrize import Centered, FrameAveraged, GroupAveraged, all_permutations

_LAZY = {
    "EGNNConv": "symnet.nn.egnn_conv",
    "fully_connected_graph": "symnet.nn.egnn_conv",
    "radius_graph": "symnet.nn.egnn_conv",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symnet.nn' has no attribute {name!r}")


__all__ = [
    "NULLSPACE_RTOL",
    "Centered",
    "DeepSets",
    "EGNN",
    "EGNNConv",
    "EGNNLayer",
    "EquivariantLinear",
    "FrameAveraged",
    "GroupAveraged",
    "InvariantFeatures",
    "PermEquivariantLinear",
    "PermRep",
    "Rep",
    "Scalar",
    "SumRep",
    "TensorRep",
    "Vector",
    "all_permutations",
    "clear_basis_cache",
    "constraint_matrix",
    "equivariant_basis",
    "fully_connected_graph",
    "radius_graph",
    "safe_norm",
]

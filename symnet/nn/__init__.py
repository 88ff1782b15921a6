"""Equivariant and invariant layers whose constraints come from :mod:`symnet.groups`.

Representations (:mod:`symnet.nn.reps`) and equivariant linear layers solved
from the groups' generators (:mod:`symnet.nn.equivariant_linear`); layers on
sets (:mod:`symnet.nn.sets`); wrappers that symmetrize any model
(:mod:`symnet.nn.symmetrize`).
"""

from __future__ import annotations

from symnet.nn.egnn import EGNN, EGNNLayer
from symnet.nn.egnn_conv import EGNNConv, fully_connected_graph, radius_graph
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

"""Linear representations of symnet's groups: the kind of a rep-valued tensor.

A :class:`Rep` is one more :class:`~symnet.groups.Kind` of tensor: a tensor
of shape ``(n, ..., dim)`` whose last axis transforms by ``rho(g)``; pass a
rep wherever a kind is expected (``group.act(g, x, rep)``, the symmetry
assertions, a layer's ``in_kinds``). The built-in kinds ``scalar`` and
``vector`` are the layouts ``PermRep(G, N) * (C * Scalar(G))`` and
``PermRep(G, N) * Vector(G)`` flattened.

A representation ``rho`` maps a group element ``g`` to a matrix ``rho(g)`` of
shape ``(dim, dim)`` and a Lie algebra generator ``X`` to ``rho(X)``. The reps
here are bound to a :class:`~symnet.groups.Group` and derive their matrices
from the group's own actions (:meth:`Group.act` and
:meth:`Group.act_infinitesimal` on the ``scalar`` and ``vector`` kinds),
never from per-group tables:

============  =====  =====================================================
rep           dim    acts by
============  =====  =====================================================
``Scalar``    1      nothing (the trivial rep)
``Vector``    d      the group's linear action on vectors of ``R^d`` (the
                     rotation matrix ``R``); particle permutations and
                     translations act trivially
``PermRep``   N      permutation matrices of S_N on ``R^N``; rotations
                     act trivially
``a + b``     a + b  block-diagonal matrices (direct sum)
``k * a``     k a    the direct sum of ``k`` copies
``a * b``     a b    Kronecker products ``rho_a(g) (x) rho_b(g)``, and
                     ``X (x) I + I (x) Y`` for generators (tensor product)
``a.T``       a      ``rho_a(g)^{-T}``, generators ``-rho_a(X)^T`` (dual)
``T(p,q,G)``  d^p+q ``V^{(x)p} (x) (V*)^{(x)q}`` (EMLP's tensor reps)
============  =====  =====================================================

``*`` between two reps is the tensor product (as in EMLP); ``*`` with an int
is a multiplicity. Tensor-product vectors are flattened row-major: the
per-particle vectors ``PermRep(G, N) * Vector(G)`` are the ``(N, d)`` layout of
symnet's ``vector`` kind flattened to ``N d`` entries, and ``PermRep(G, N) *
(C * Scalar(G))`` the ``(N, C)`` layout of its ``scalar`` kind.

This module gathers the reps: the abstract :class:`Rep` and its algebra live
in :mod:`symnet.groups.rep_base`, the building blocks ``Scalar``, ``Vector``
and ``PermRep`` in :mod:`symnet.groups.rep_atoms`, and the direct sums and
tensor products in :mod:`symnet.groups.rep_composite`, the dual and the tensor
reps ``T(p, q, G)`` in :mod:`symnet.groups.rep_dual`.

References
----------
M. Finzi, M. Welling, A. G. Wilson, "A practical method for constructing
equivariant multilayer perceptrons for arbitrary matrix groups", ICML 2021.

Examples
--------
>>> from symnet.groups import Permutation, Rotation
>>> from symnet.groups import PermRep, Scalar, Vector
>>> G = Rotation(3) * Permutation()
>>> V, P = Vector(G), PermRep(G, 4)
>>> rep = P * V + 2 * Scalar(G)
>>> rep, rep.dim
(P(4)*V + 2*S, 14)
>>> name, cycle = G.discrete_generators((4, 3))[1]
>>> name, P.discrete(cycle)
('cycle', tensor([[0., 1., 0., 0.],
        [0., 0., 1., 0.],
        [0., 0., 0., 1.],
        [1., 0., 0., 0.]], dtype=torch.float64))
"""

from __future__ import annotations

from symnet.groups.rep_atoms import PermRep, Scalar, Vector
from symnet.groups.rep_atoms import _Atom as _Atom
from symnet.groups.rep_base import _F64 as _F64
from symnet.groups.rep_base import Rep
from symnet.groups.rep_base import _element_batch as _element_batch
from symnet.groups.rep_base import _factor_elements as _factor_elements
from symnet.groups.rep_base import _owner as _owner
from symnet.groups.rep_composite import SumRep, TensorRep
from symnet.groups.rep_composite import _batched_kron as _batched_kron
from symnet.groups.rep_dual import DualRep, T

__all__ = ["Rep", "Scalar", "Vector", "PermRep", "SumRep", "TensorRep", "DualRep", "T"]

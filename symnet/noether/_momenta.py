"""How a group element moves momenta: as covectors, ``p -> M^{-T} p``.

Private module of :mod:`symnet.noether`. A point transformation
``q -> M q + b`` lifts to phase space as the canonical (cotangent) lift
``p -> M^{-T} p``, which keeps the pairing ``p . qdot`` and Hamilton's
equations; its generator ``A`` moves momenta by ``delta p = -A^T p``, the flow
of the charge ``Q = p . A q`` (docs/noether.md, section 'Hamiltonian form').
For orthogonal ``M`` (rotations, reflections, permutations) ``M^{-T} = M``
and momenta move as vectors; for the non-orthogonal linear groups (Lorentz
transformations, symplectic squeezes) they do not. Translations and time
shifts leave momenta unchanged; Galilean boosts keep their own action.
"""

from __future__ import annotations

import torch
from torch import Tensor

from symnet.groups import Group
from symnet.groups.group import Element

__all__ = ["act_on_momenta"]


def _parts(group: Group, g: Element) -> list[tuple[Group, Element]]:
    factors = group.factors
    elements = tuple(g) if len(factors) > 1 else (g,)
    return list(zip(factors, elements, strict=True))


def act_on_momenta(group: Group, g: Element, p: Tensor, *, t: Tensor | None = None) -> Tensor:
    """The cotangent lift of elements ``g`` on momenta: ``p -> M^{-T} p``.

    Parameters
    ----------
    group : Group
        A group acting on configurations ``q`` of shape ``(B, N, d)`` as
        points (products included).
    g : Element
        A batch of ``n`` elements (``n == 1`` broadcasts, ``n == B`` otherwise).
    p : Tensor
        Momenta, shape ``(B, N, d)``; not modified.
    t : Tensor, optional
        Times, shape ``(B,)`` (boosts).

    Returns
    -------
    Tensor
        Shape ``(B, N, d)``. A factor with a non-orthogonal matrix ``M``
        (:meth:`~symnet.groups.Group.orthogonal_matrix`, e.g. Lorentz or
        symplectic) applies ``M^{-T}``; every other factor its ``"vector"``
        action (rotations and reflections: ``M p``; translations and time
        shifts: nothing; permutations: the permutation; boosts: their own).
        Factors act last first, as in :meth:`~symnet.groups.Group.act`.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Symplectic
    >>> from symnet.noether._momenta import act_on_momenta
    >>> G = Symplectic(1)
    >>> M = G.exp("squeeze", torch.tensor([1.0]), (1, 2))  # diag(e, 1/e)
    >>> q = p = torch.tensor([[[1.0, 1.0]]], dtype=torch.float64)
    >>> qg, pg = G.act(M, q, "point"), act_on_momenta(G, M, p)
    >>> pg
    tensor([[[0.3679, 2.7183]]], dtype=torch.float64)
    >>> float((pg * qg).sum())  # p . q is kept
    2.0
    """
    out = p
    for f, gi in reversed(_parts(group, g)):
        M = None if f.orthogonal else f.orthogonal_matrix(gi)
        if M is None:  # orthogonal, or not a linear map of space: the vector action
            out = f.act(gi, out, "vector", t=t)
            continue
        if out.shape[-1] != M.shape[-1]:
            raise ValueError(
                f"p must have last axis {M.shape[-1]} for {f!r}, got shape {tuple(out.shape)}"
            )
        W = torch.linalg.inv(M.to(out)).transpose(-1, -2)  # (n, d, d)
        W = W.reshape(W.shape[0], *([1] * (out.dim() - 2)), *W.shape[-2:])
        out = (W @ out.unsqueeze(-1)).squeeze(-1)
    return out

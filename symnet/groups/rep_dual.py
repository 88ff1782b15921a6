"""The dual representation ``V*`` (:class:`DualRep`) and EMLP-style tensor reps :func:`T`.

The dual of a rep ``rho`` acts on linear functionals: ``rho*(g) = rho(g)^{-T}``
and, for a Lie algebra generator ``X``, ``rho*(X) = -rho(X)^T``. For
orthogonal reps (rotations, permutations) ``rho(g)^{-T} = rho(g)``: the dual
has the same matrices as the rep. For the Lorentz group it does not:
covectors transform with the inverse transpose (``V* ~ eta V``).

Every rep has the property :attr:`Rep.T` (``rep.T.T == rep``; the trivial rep
is its own dual), and :func:`T` builds the tensor reps ``T(p, q) = V^{(x)p}
(x) (V*)^{(x)q}`` of Finzi, Welling & Wilson (2021).
"""

from __future__ import annotations

from torch import Tensor

from symnet.groups.group import Element, Group
from symnet.groups.rep_base import Rep

__all__ = ["DualRep", "T"]


class DualRep(Rep):
    """The dual ``rep*`` of a rep: matrices ``rho(g)^{-T}``, generators ``-rho(X)^T``.

    Build it with ``rep.T``; ``DualRep(rep).T`` is ``rep`` again.

    Parameters
    ----------
    rep : Rep
        The rep to dualise.

    Examples
    --------
    >>> from symnet.groups import Rotation, Vector
    >>> V = Vector(Rotation(3))
    >>> V.T, (V * V.T).T, V.T.T == V, V.T.dim
    (V*, (V*V*)*, True, 3)
    """

    def __init__(self, rep: Rep) -> None:
        if not isinstance(rep, Rep):
            raise TypeError(f"rep must be a symnet.groups.Rep, got {type(rep).__name__}")
        self.rep = rep
        self.group = rep.group
        self.dim = rep.dim

    def __repr__(self) -> str:
        from symnet.groups.rep_composite import SumRep, TensorRep

        inner = repr(self.rep)
        return f"({inner})*" if isinstance(self.rep, (SumRep, TensorRep)) else f"{inner}*"

    def _perm_sizes(self) -> list[int]:
        return self.rep._perm_sizes()

    @property
    def T(self) -> Rep:  # noqa: N802 - the dual, as in EMLP
        """The dual of the dual: the original rep."""
        return self.rep

    def lie(self, name: str) -> Tensor:
        """``-rho(X)^T``, shape ``(dim, dim)``."""
        return -self.rep.lie(name).T.contiguous()

    def matrix(self, g: Element) -> Tensor:
        """``rho(g)^{-T} = rho(g^{-1})^T``, shape ``(n, dim, dim)``."""
        return self.rep.matrix(self.group.inverse(g)).mT.contiguous()


def T(p: int, q: int = 0, group: Group | None = None) -> Rep:  # noqa: N802 - EMLP's name
    """The tensor rep ``V^{(x)p} (x) (V*)^{(x)q}`` of ``group`` (``V = Vector(group)``).

    Parameters
    ----------
    p, q : int
        Numbers of vector (contravariant) and covector (covariant) factors, ``>= 0``.
    group : Group
        The group (required; pass it by keyword or as the third argument).

    Returns
    -------
    Rep
        Dimension ``d^(p + q)``; ``T(0, 0, G)`` is ``Scalar(G)``.

    Examples
    --------
    >>> from symnet.groups import Rotation, T
    >>> G = Rotation(3)
    >>> T(2, group=G), T(1, 1, G), T(0, 0, G), T(2, 1, G).dim
    (V*V, V*V*, S, 27)
    """
    from symnet.groups.rep_atoms import Scalar, Vector

    if group is None:
        raise TypeError("T() needs the group: T(p, q, group) or T(p, group=G)")
    for name, k in (("p", p), ("q", q)):
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"{name} must be an int >= 0, got {k!r}")
    if p == q == 0:
        return Scalar(group)
    V = Vector(group)
    return V**p * V.T**q

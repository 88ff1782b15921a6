"""E(d)-invariant features of point clouds: distances, norms and dot products.

:class:`InvariantFeatures` turns positions ``x`` of shape ``(..., N, d)`` (kind
``point``) and optional velocities ``v`` of shape ``(..., N, d)`` (kind
``vector``) into features that no translation, rotation or reflection
changes. Only differences of points, dot products and norms enter (no cross
products), so every output is invariant under the full Euclidean group
E(d) = T(d) x O(d), not only under SE(d).

The features are the classical invariant-theory ones (H. Weyl, *The Classical
Groups*, 1939: every O(d)-invariant polynomial of vectors is a polynomial of
their dot products), as used by invariant models of particle systems, e.g.
S. Villar et al., "Scalars are universal", NeurIPS 2021.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from symnet.groups.utils import euclidean_group
from symnet.nn._checks import check_same_dtype

__all__ = ["InvariantFeatures", "safe_norm"]

_OUTPUTS = ("pair", "particle", "global")
_POOLINGS = ("sum", "mean", "sorted")


def safe_norm(sq: Tensor) -> Tensor:
    """``sqrt(sq)`` with value and derivative 0 where ``sq == 0``.

    ``sqrt`` has an infinite derivative at 0, so the norm of a zero vector (the
    distance of a particle to itself, or of two coinciding particles) would
    give NaN gradients. Here the derivative at 0 is set to 0 (a subgradient);
    reverse- and forward-mode AD both see it (a double ``torch.where``).

    NaN (and a negative ``sq``) gives NaN, as ``sqrt`` does: only an exact
    zero is special-cased, so a bad value is never turned into a distance of 0.

    Parameters
    ----------
    sq : Tensor
        Squared norms, any shape, ``>= 0``.

    Returns
    -------
    Tensor
        Same shape as ``sq``.
    """
    zero = sq == 0
    root = torch.sqrt(torch.where(zero, torch.ones_like(sq), sq))
    return torch.where(zero, torch.zeros_like(sq), root)


class InvariantFeatures(nn.Module):
    r"""Invariant features of positions (and velocities) of N particles.

    Pair features, for every ordered pair ``(i, j)``:

    ============  ==============================================  ===========
    name          value                                           when
    ============  ==============================================  ===========
    ``r2``/``r``  ``|x_i - x_j|^2`` (``squared``) or ``|x_i - x_j|``  always
    ``gram``      ``(x_i - c) . (x_j - c)``                       ``centred``
    ``vv``        ``v_i . v_j``                                   ``v`` given
    ``xv_i``      ``(x_i - x_j) . v_i``                           ``v`` given
    ``xv_j``      ``(x_j - x_i) . v_j``                           ``v`` given
    ============  ==============================================  ===========

    Particle features of particle ``i`` alone (``c`` the centre, ``V`` the
    centre's velocity; norms are squared when ``squared``):

    ============  =======================  =========================
    ``x2``/``x``  ``|x_i - c|^2``          ``centred``
    ``v2``/``v``  ``|v_i|^2``              ``v`` given
    ``xv``        ``(x_i - c) . v_i``      ``centred`` and ``v`` given
    ============  =======================  =========================

    With ``centred=True`` the velocities are taken relative to ``V`` as well
    (``v_i - V`` replaces ``v_i`` everywhere), and ``c`` is the mean position,
    mass-weighted when ``masses`` are passed to :meth:`forward`.

    Outputs (``output`` selects one, or a tuple of them in that order):

    - ``"pair"``: shape ``(..., N, N, F_pair)``, the pair features (the
      diagonal ``i == j`` included). Invariant under T(d) x O(d);
      equivariant under permutations acting on *both* particle axes.
    - ``"particle"``: shape ``(..., N, F)``, the particle features followed by
      the pair features of ``i`` pooled over ``j != i``: ``"sum"`` or
      ``"mean"`` (``F_pair`` columns) or ``"sorted"`` (each pair feature's
      ``N - 1`` values sorted ascending, ``F_pair (N - 1)`` columns). Invariant
      under T(d) x O(d), permutation-equivariant: kind ``scalar``.
    - ``"global"``: shape ``(..., F)``: the particle features pooled over the
      particles (``"sum"``/``"mean"``: ``F_own + F_pair`` columns), or for
      ``"sorted"`` every pair feature sorted over the ``N (N - 1)`` ordered
      pairs and every particle feature sorted over the ``N`` particles.
      Invariant under T(d) x O(d) x S_N: kind ``global``.

    With ``centred=True`` every output is also invariant under Galilean
    boosts acting on the velocities (``v_i -> v_i + u``), whatever the masses.
    :attr:`feature_names` lists the columns.

    Parameters
    ----------
    squared : bool
        Squared distances and norms (default): polynomial, hence smooth
        everywhere, including at coinciding points. With ``False`` plain
        Euclidean norms, whose derivative at a zero vector (``i == j``, or
        coinciding particles) is set to 0 (:func:`safe_norm`).
    centred : bool
        Add the features relative to the centre (of mass), see above.
    output : str or sequence of str
        ``"pair"``, ``"particle"`` (default) or ``"global"``, or several.
    pooling : str
        ``"sum"`` (default), ``"mean"`` or ``"sorted"``.
    velocities : bool
        Declare calls ``forward(x, v)`` (``in_kinds = ("point", "vector")``)
        rather than ``forward(x)``; :meth:`forward` accepts ``v`` either way.
    dim : int
        Spatial dimension ``d`` of the declared :attr:`group` (default 3; the
        features themselves work in any ``d``).

    Attributes
    ----------
    group : Group
        ``Translation(d) * Rotation(d) * Permutation()``, or
        ``Translation(d) * Rotation(d)`` when a ``"pair"`` output is selected
        (permutations act on both of its particle axes, which no kind
        describes). The features are also invariant under reflections (and,
        with ``centred=True``, Galilean boosts), which the declaration does
        not state.
    in_kinds : tuple of str
        ``("point",)``, or ``("point", "vector")`` with ``velocities=True``;
        masses are not part of the declaration.
    out_kinds : tuple of str
        One per output: ``"pair"`` and ``"global"`` are kind ``global``
        (invariant), ``"particle"`` is kind ``scalar``. What
        :func:`~symnet.testing.assert_equivariant` reads.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Permutation, Rotation, Translation
    >>> from symnet.testing import assert_invariant
    >>> feats = InvariantFeatures(output="global", pooling="mean")
    >>> x, v = torch.randn(4, 5, 3), torch.randn(4, 5, 3)
    >>> feats(x, v).shape
    torch.Size([4, 5])
    >>> feats.feature_names(velocities=True)
    ['mean_v2', 'mean_r2', 'mean_vv', 'mean_xv_i', 'mean_xv_j']
    >>> G = Translation(3) * Rotation(3) * Permutation()
    >>> assert_invariant(feats, G, (x, v), ("point", "vector")).passed
    True
    >>> from symnet.testing import assert_equivariant
    >>> per_particle = InvariantFeatures(velocities=True)
    >>> per_particle.group, per_particle.in_kinds, per_particle.out_kinds
    (Translation(3) x Rotation(3) x Permutation(), ('point', 'vector'), ('scalar',))
    >>> assert_equivariant(per_particle, (x, v)).passed
    True
    """

    def __init__(
        self,
        *,
        squared: bool = True,
        centred: bool = False,
        output: str | Sequence[str] = "particle",
        pooling: str = "sum",
        velocities: bool = False,
        dim: int = 3,
    ) -> None:
        super().__init__()
        outputs = (output,) if isinstance(output, str) else tuple(output)
        if not outputs or any(o not in _OUTPUTS for o in outputs):
            raise ValueError(
                f"output must be one of {', '.join(map(repr, _OUTPUTS))} or a tuple of them, "
                f"got {output!r}"
            )
        if pooling not in _POOLINGS:
            raise ValueError(
                f"pooling must be one of {', '.join(map(repr, _POOLINGS))}, got {pooling!r}"
            )
        self.squared = bool(squared)
        self.centred = bool(centred)
        self.outputs = outputs
        self.single = isinstance(output, str)
        self.pooling = pooling
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be an int >= 1, got {dim!r}")
        self.dim = dim
        self.velocities = bool(velocities)
        self.group = euclidean_group(dim, permutations="pair" not in outputs)
        self.in_kinds = ("point", "vector") if self.velocities else ("point",)
        self.out_kinds = tuple("scalar" if o == "particle" else "global" for o in outputs)

    def extra_repr(self) -> str:
        """The options, for ``repr``."""
        out = repr(self.outputs[0]) if self.single else repr(self.outputs)
        return (
            f"squared={self.squared}, centred={self.centred}, output={out}, "
            f"pooling={self.pooling!r}"
        )

    # ------------------------------------------------------------ names
    def pair_names(self, velocities: bool = False) -> list[str]:
        """Names of the ``F_pair`` pair features."""
        names = ["r2" if self.squared else "r"]
        if self.centred:
            names.append("gram")
        if velocities:
            names += ["vv", "xv_i", "xv_j"]
        return names

    def particle_names(self, velocities: bool = False) -> list[str]:
        """Names of the ``F_own`` features of a particle alone."""
        names = []
        if self.centred:
            names.append("x2" if self.squared else "x")
        if velocities:
            names.append("v2" if self.squared else "v")
        if self.centred and velocities:
            names.append("xv")
        return names

    def feature_names(self, velocities: bool = False, n_particles: int | None = None) -> list[str]:
        """Column names of the first selected output.

        Parameters
        ----------
        velocities : bool
            Whether velocities are passed to :meth:`forward`.
        n_particles : int, optional
            ``N``, needed for ``pooling="sorted"`` (one column per sorted value).
        """
        pair, own = self.pair_names(velocities), self.particle_names(velocities)
        out, pool = self.outputs[0], self.pooling
        if out == "pair":
            return pair
        if pool != "sorted":
            if out == "particle":
                return own + [f"{pool}_{p}" for p in pair]
            return [f"{pool}_{name}" for name in own + pair]
        if n_particles is None:
            raise ValueError("pooling='sorted' has one column per sorted value: pass n_particles")
        n = n_particles
        if out == "particle":
            return own + [f"{p}[{k}]" for p in pair for k in range(n - 1)]
        return [f"{p}[{k}]" for p in pair for k in range(n * (n - 1))] + [
            f"{o}[{k}]" for o in own for k in range(n)
        ]

    # ---------------------------------------------------------- forward
    def forward(
        self, x: Tensor, v: Tensor | None = None, masses: Tensor | None = None
    ) -> Tensor | tuple[Tensor, ...]:
        """Invariant features.

        Parameters
        ----------
        x : Tensor
            Positions, shape ``(..., N, d)``.
        v : Tensor, optional
            Velocities (or any vectors), shape ``(..., N, d)``.
        masses : Tensor, optional
            Shape ``(..., N, 1)`` or ``(N, 1)``, positive and finite: the
            centre is the centre of mass. Only with ``centred=True``. Cast to
            the dtype of ``x``.

        Returns
        -------
        Tensor or tuple of Tensor
            ``(..., N, N, F_pair)`` for ``"pair"``, ``(..., N, F)`` for
            ``"particle"``, ``(..., F)`` for ``"global"``, in the dtype of
            ``x`` (any floating dtype, float16 and bfloat16 included); a tuple
            when ``output`` was a sequence.

        Raises
        ------
        TypeError
            ``x`` is not floating point, or ``v`` has another dtype than ``x``.
        ValueError
            Shapes that disagree, no particles (``N = 0``), or masses that
            are not all positive and finite.
        """
        pair, own = self._features(x, v, masses)
        n = x.shape[-2]
        results = []
        for out in self.outputs:
            if out == "pair":
                results.append(pair)
            elif out == "particle":
                results.append(self._particle(pair, own, n))
            else:
                results.append(self._global(pair, own, n))
        return results[0] if self.single else tuple(results)

    def _features(
        self, x: Tensor, v: Tensor | None, masses: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """Pair features ``(..., N, N, F_pair)`` and own features ``(..., N, F_own)``."""
        if not isinstance(x, Tensor) or x.dim() < 2:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., N, d), got {got}")
        if not torch.is_floating_point(x):
            raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        if x.shape[-2] == 0:
            raise ValueError(
                f"x has N = 0 particles (shape {tuple(x.shape)}): invariant features need at "
                f"least one particle (pools and centres over no particles are undefined)"
            )
        if v is not None:
            check_same_dtype(v, "v", x, "x")
            if v.shape[-2:] != x.shape[-2:]:
                raise ValueError(
                    f"v must have the shape of x (..., N, d): x {tuple(x.shape)}, "
                    f"v {tuple(v.shape)}"
                )
        if masses is not None and not self.centred:
            raise ValueError("masses only set the centre of mass: pass centred=True to use them")
        norm = (lambda s: s) if self.squared else safe_norm
        diff = x[..., :, None, :] - x[..., None, :, :]  # (..., N, N, d): x_i - x_j
        pair = [norm((diff * diff).sum(-1))]
        own: list[Tensor] = []
        if self.centred:
            if masses is None:
                c = x.mean(-2, keepdim=True)
                vc = v.mean(-2, keepdim=True) if v is not None else None
            else:
                masses = _check_masses(masses, x)
                w = masses / masses.sum(-2, keepdim=True)
                c = (w * x).sum(-2, keepdim=True)
                vc = (w * v).sum(-2, keepdim=True) if v is not None else None
            xc = x - c
            v = v - vc if v is not None else None
            gram = xc @ xc.transpose(-1, -2)
            pair.append(gram)
            own.append(norm(gram.diagonal(dim1=-2, dim2=-1)))
        if v is not None:
            vv = v @ v.transpose(-1, -2)
            xv_i = (diff * v[..., :, None, :]).sum(-1)
            pair += [vv, xv_i, xv_i.transpose(-1, -2)]
            own.append(norm(vv.diagonal(dim1=-2, dim2=-1)))
            if self.centred:
                own.append((xc * v).sum(-1))
        pair_t = torch.stack(pair, -1)
        own_t = torch.stack(own, -1) if own else x.new_zeros(x.shape[:-1] + (0,))
        return pair_t, own_t

    def _particle(self, pair: Tensor, own: Tensor, n: int) -> Tensor:
        """``(..., N, F_own + pooled)`` per-particle features."""
        if self.pooling == "sorted":
            i, j = _off_diagonal(n, pair.device)
            vals = pair[..., i, j, :]  # (..., N, N - 1, F)
            vals = vals.sort(dim=-2).values.transpose(-1, -2).flatten(-2)
            return torch.cat([own, vals], -1)
        off = 1.0 - torch.eye(n, dtype=pair.dtype, device=pair.device)
        pooled = (pair * off[..., None]).sum(-2)
        if self.pooling == "mean":
            pooled = pooled / max(n - 1, 1)
        return torch.cat([own, pooled], -1)

    def _global(self, pair: Tensor, own: Tensor, n: int) -> Tensor:
        """``(..., F)`` fully invariant features."""
        if self.pooling == "sorted":
            i, j = _off_diagonal(n, pair.device)
            vals = pair[..., i, j, :].flatten(-3, -2)  # (..., N (N - 1), F)
            vals = vals.sort(dim=-2).values.transpose(-1, -2).flatten(-2)
            own_sorted = own.sort(dim=-2).values.transpose(-1, -2).flatten(-2)
            return torch.cat([vals, own_sorted], -1)
        per = self._particle(pair, own, n)
        return per.sum(-2) if self.pooling == "sum" else per.mean(-2)


def _check_masses(masses: Any, x: Tensor) -> Tensor:
    """``masses`` in ``x``'s dtype and device, checked: shape ``(..., N, 1)``, positive, finite.

    One reduction over the ``N`` masses: a zero total (or a NaN) would make
    the centre of mass, and every feature relative to it, NaN without a word.
    """
    if not isinstance(masses, Tensor):
        raise TypeError(f"masses must be a torch.Tensor, got {type(masses).__name__}")
    if masses.dim() < 2 or masses.shape[-1] != 1 or masses.shape[-2] != x.shape[-2]:
        raise ValueError(
            f"masses must have shape (..., N, 1) with N = {x.shape[-2]}, got {tuple(masses.shape)}"
        )
    m = masses.to(dtype=x.dtype, device=x.device)
    ok = (m > 0) & torch.isfinite(m)
    if not bool(ok.all()):
        idx = tuple(int(i) for i in (~ok).nonzero()[0])
        raise ValueError(
            f"masses must be positive and finite (the centre of mass divides by their sum), "
            f"got {float(m[idx])} at index {idx}"
        )
    return m


def _off_diagonal(n: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Index arrays ``(N, N - 1)`` of the pairs ``(i, j)``, ``j != i``, row by row."""
    j = torch.arange(n, device=device).expand(n, n)
    keep = ~torch.eye(n, dtype=torch.bool, device=device)
    j = j[keep].reshape(n, n - 1)
    i = torch.arange(n, device=device)[:, None].expand(n, n - 1)
    return i, j

"""Shared checks for the symnet.groups tests.

Everything runs in float64 and compares with relative (scale-adjusted)
round-off tolerances: ``max|a - b| <= RTOL * max(1, max|b|)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from torch import Tensor
from torch.func import jvp

from symnet.groups import Group, Kind, Rotation, irreps_kind

RTOL = 1e-12
# e3nn's Wigner D costs milliseconds per call: the generic checks use l <= 2
# (l = 3 is covered in test_rotation.py).
IRREPS = "1x0e + 1x1o + 1x2e"
PER_PARTICLE_IRREPS = "1x1o + 1x2e"
KINDS = ("point", "vector", "scalar", "global", "time")

# Few, cheap examples: the whole groups suite must stay well under a minute on 2 cores.
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# for the product groups, each parametrized separately
FEW = settings(SETTINGS, max_examples=4)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
batches = st.integers(min_value=1, max_value=4)
particles = st.integers(min_value=2, max_value=5)


def rel_err(a: Tensor, b: Tensor) -> float:
    """Max absolute difference relative to ``max(1, max|b|)``."""
    if a.numel() == 0:
        return 0.0
    scale = max(1.0, float(b.abs().max()))
    return float((a - b).abs().max()) / scale


def assert_close(a: Tensor, b: Tensor, rtol: float = RTOL, what: str = "") -> None:
    assert isinstance(a, Tensor) and isinstance(b, Tensor), (type(a), type(b))
    assert a.shape == b.shape, f"{what}: shapes {tuple(a.shape)} != {tuple(b.shape)}"
    err = rel_err(a.double(), b.double())
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:.1e}"


def parts(g: Any) -> tuple[Tensor, ...]:
    """The factor tensors of an element (a tuple for products)."""
    return g if isinstance(g, tuple) else (g,)


def take(g: Any, index: slice) -> Any:
    """Slice the batch axis of an element."""
    out = tuple(p[index] for p in parts(g))
    return out if isinstance(g, tuple) else out[0]


def expand(g: Any, n: int) -> Any:
    """Repeat a batch-1 element ``n`` times."""
    out = tuple(p.expand(n, *p.shape[1:]).clone() for p in parts(g))
    return out if isinstance(g, tuple) else out[0]


def clone(g: Any) -> Any:
    out = tuple(p.clone() for p in parts(g))
    return out if isinstance(g, tuple) else out[0]


def assert_same(a: Any, b: Any) -> None:
    """Bitwise equality of two elements (nothing was modified in place)."""
    for x, y in zip(parts(a), parts(b), strict=True):
        assert torch.equal(x, y)


def assert_elements_close(a: Any, b: Any, rtol: float = RTOL, what: str = "") -> None:
    assert isinstance(a, tuple) == isinstance(b, tuple)
    for x, y in zip(parts(a), parts(b), strict=True):
        x, y = torch.broadcast_tensors(x, y)
        if x.dtype == torch.long or y.dtype == torch.long:
            assert torch.equal(x, y), f"{what}: permutations differ"
        else:
            assert x.dtype == y.dtype == torch.float64, (what, x.dtype, y.dtype)
            assert_close(x, y, rtol, what)


def supports_irreps(G: Group) -> bool:
    """e3nn irreps need Rotation(3) (or no rotation at all: then they are invariant)."""
    return all(f.dim == 3 for f in G.factors if isinstance(f, Rotation)) and G.supports_kind(
        irreps_kind(IRREPS)
    )


def kinds_for(G: Group, irreps: bool = True) -> list[Any]:
    """Every kind the group can act on: the named kinds, irreps and per-particle irreps."""
    kinds: list[Any] = list(KINDS)
    if irreps and supports_irreps(G):
        kinds += [IRREPS, irreps_kind(PER_PARTICLE_IRREPS, per_particle=True)]
    return kinds


def random_x(kind: Any, n: int, S: Sequence[int], gen: torch.Generator) -> Tensor:
    """A float64 tensor of ``kind`` for configurations ``S = (N, d)``, batch ``n``.

    Points and vectors carry an extra middle axis to exercise the ``...`` of the layouts.
    """
    N, d = S
    if isinstance(kind, Kind) or kind not in KINDS:
        dim = irreps_kind(kind.irreps if isinstance(kind, Kind) else kind).irreps.dim
        per_particle = isinstance(kind, Kind) and kind.per_particle
        shape = (n, N, dim) if per_particle else (n, dim)
    else:
        shape = {
            "point": (n, 2, N, d),
            "vector": (n, 2, N, d),
            "scalar": (n, N, 5),
            "global": (n, 4),
            "time": (n, 3),
        }[kind]
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def check_axioms(G: Group, S: Sequence[int], n: int, seed: int) -> None:
    """Identity, associativity, inverse, and ``act(g h) == act(g) act(h)`` on every kind.

    Also: the identity acts trivially, ``g^-1`` undoes ``g``, batch-1 elements
    broadcast, and neither the elements nor ``x`` are modified.
    """
    gen = torch.Generator().manual_seed(seed)
    g, h, k = (G.sample(n, S, gen) for _ in range(3))
    saved = [clone(g), clone(h), clone(k)]
    e = G.identity(n, S)

    assert_elements_close(G.compose(e, g), g, what="e g == g")
    assert_elements_close(G.compose(g, e), g, what="g e == g")
    assert_elements_close(
        G.compose(G.compose(g, h), k), G.compose(g, G.compose(h, k)), what="(g h) k == g (h k)"
    )
    assert_elements_close(G.compose(g, G.inverse(g)), e, what="g g^-1 == e")
    assert_elements_close(G.compose(G.inverse(g), g), e, what="g^-1 g == e")
    assert_elements_close(G.inverse(G.inverse(g)), g, what="(g^-1)^-1 == g")
    # (g h)^-1 == h^-1 g^-1
    assert_elements_close(
        G.inverse(G.compose(g, h)), G.compose(G.inverse(h), G.inverse(g)), what="(gh)^-1"
    )
    # a single element (batch 1) composes with a batch, on either side
    g1 = take(g, slice(0, 1))
    assert_elements_close(G.compose(g1, h), G.compose(expand(g1, n), h), what="g1 h")
    assert_elements_close(G.compose(h, g1), G.compose(h, expand(g1, n)), what="h g1")

    t = torch.randn(n, generator=gen, dtype=torch.float64)
    gh = G.compose(g, h)
    for kind in kinds_for(G):
        x = random_x(kind, n, S, gen)
        x0 = x.clone()
        what = f"{G!r} on {kind}"
        y = G.act(h, x, kind, t=t)
        assert y.shape == x.shape and y.dtype == x.dtype
        assert_close(G.act(gh, x, kind, t=t), G.act(g, y, kind, t=t), what=f"{what}: act(g h)")
        assert_close(G.act(e, x, kind, t=t), x, what=f"{what}: act(e)")
        assert_close(
            G.act(G.inverse(g), G.act(g, x, kind, t=t), kind, t=t), x, what=f"{what}: g^-1 g"
        )
        assert_close(
            G.act(g1, x, kind, t=t),
            G.act(expand(g1, n), x, kind, t=t),
            what=f"{what}: batch-1 element broadcasts",
        )
        assert torch.equal(x, x0), f"{what}: act modified x"
    for a, b in zip([g, h, k], saved, strict=True):
        assert_same(a, b)


def tangent(G: Group, gen: Any, x: Tensor, kind: Any, S: Sequence[int], t: Tensor) -> Tensor:
    """``d/ds act(exp(s X), x)`` at ``s = 0`` by forward-mode autodiff."""
    n = x.shape[0]

    def moved(s: Tensor) -> Tensor:
        return G.act(G.exp(gen, s, S), x, kind, t=t)

    s0 = torch.zeros(n, dtype=torch.float64)
    return jvp(moved, (s0,), (torch.ones_like(s0),))[1]


def irreps_matrix(G: Group, gen: Any, kind: Any) -> Tensor:
    """The Lie algebra matrix ``X`` of ``gen`` on an irreps kind, from ``act_infinitesimal``."""
    k = kind if isinstance(kind, Kind) else irreps_kind(kind)
    dim = k.irreps.dim
    basis = torch.eye(dim, dtype=torch.float64)
    if k.per_particle:
        basis = basis[:, None, :]  # dim configurations of one particle
    out = G.act_infinitesimal(gen, basis, kind)  # row j is (X e_j)^T
    return out.reshape(dim, dim).T


def check_generators(G: Group, S: Sequence[int], n: int, seed: int) -> None:
    """The finite action agrees with the generators.

    For points, the tangent of ``s -> act(exp(s X), x)`` at 0 equals ``gen.xi``
    and ``act_infinitesimal``; for the other named kinds it equals
    ``act_infinitesimal``. For irreps (whose Wigner D is not differentiable at
    the identity), ``act(exp(s X), x) == matrix_exp(s X_irreps) x`` for several ``s``.
    """
    rng = torch.Generator().manual_seed(seed)
    t = torch.randn(n, generator=rng, dtype=torch.float64)
    q = random_x("point", n, S, rng)[:, 0]  # configurations (B, N, d)
    q0 = q.clone()
    for gen in G.generators(S):
        what = f"{G!r}, {gen.name}"
        d = tangent(G, gen, q, "point", S, t)
        assert_close(d, gen.xi(q, t), what=f"{what}: d/ds act vs xi")
        assert_close(d, G.act_infinitesimal(gen.name, q, "point", t=t), what=f"{what}: point")
        for kind in KINDS:
            x = random_x(kind, n, S, rng)
            assert_close(
                tangent(G, gen, x, kind, S, t),
                G.act_infinitesimal(gen, x, kind, t=t),
                what=f"{what}: {kind}",
            )
        if supports_irreps(G):
            # one irreps layout per generator, alternating, to keep the Wigner D calls few
            i = G.generator_names().index(gen.name)
            kind = IRREPS if i % 2 == 0 else irreps_kind(PER_PARTICLE_IRREPS, per_particle=True)
            X = irreps_matrix(G, gen, kind)
            x = random_x(kind, n, S, rng)
            for s in (-1.3, 2.5):
                g = G.exp(gen, torch.full((1,), s, dtype=torch.float64), S)
                want = x @ torch.linalg.matrix_exp(s * X).T
                assert_close(G.act(g, x, kind, t=t), want, rtol=1e-11, what=f"{what}: {kind}")
    assert torch.equal(q, q0)

"""Devices: groups, the assert helpers, vector fields, integrators and layers on every device.

Each test runs the same computation on the CPU and on ``device`` (``cpu`` always, ``cuda``
when torch sees one, see ``DEVICES`` in conftest.py) and asserts that the outputs live on the
input's device and equal the CPU results to round-off. The models, the checker, training and
the learning ledger are in test_devices_models.py.
"""

from __future__ import annotations

import pytest
import torch
from conftest import to_device
from torch import Tensor

import symnet.nn as snn
from symnet.groups import (
    Boost,
    Generator,
    Permutation,
    Reflection,
    Rotation,
    TimeShift,
    Translation,
    as_group,
)
from symnet.mechanics import (
    hamiltonian_vector_field,
    integrators,
    lagrangian_vector_field,
    rollout,
)
from symnet.testing import assert_conserved, assert_equivariant, assert_invariant

F64 = torch.float64


def same(out, ref, device: torch.device, rtol: float = 1e-10) -> None:
    """``out`` (a tensor or a tuple of them) lives on ``device`` and equals the CPU ``ref``."""
    if isinstance(ref, tuple | list):
        assert isinstance(out, tuple | list) and len(out) == len(ref)
        for a, b in zip(out, ref, strict=True):
            same(a, b, device, rtol)
        return
    assert isinstance(out, Tensor), type(out)
    assert out.device.type == device.type, f"output on {out.device}, input on {device}"
    assert out.shape == ref.shape and out.dtype == ref.dtype
    scale = max(1.0, float(ref.detach().abs().max())) if ref.numel() else 1.0
    err = float((out.detach().cpu() - ref.detach()).abs().max()) if ref.numel() else 0.0
    assert err <= rtol * scale, f"differs from the CPU result by {err:.2e}"


def _states(B: int = 3, N: int = 2, d: int = 2, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, N, d, generator=g, dtype=F64), torch.randn(
        B, N, d, generator=g, dtype=F64
    )


def spring_lagrangian(q: Tensor, qdot: Tensor) -> Tensor:
    """Two unit masses joined by a unit spring, in any dimension: E(d)-invariant."""
    r = (q[:, 0] - q[:, 1]).norm(dim=-1)
    return 0.5 * qdot.pow(2).sum(dim=(-2, -1)) - 0.5 * (r - 1.0) ** 2


def spring_hamiltonian(q: Tensor, p: Tensor) -> Tensor:
    r = (q[:, 0] - q[:, 1]).norm(dim=-1)
    return 0.5 * p.pow(2).sum(dim=(-2, -1)) + 0.5 * (r - 1.0) ** 2


# ------------------------------------------------------------------------------------ groups

GROUPS = {
    "translation": (Translation(2), "point"),
    "rotation": (Rotation(3), "point"),
    "permutation": (Permutation(), "point"),
    "reflection": (Reflection(2), "point"),
    "time": (TimeShift(), "time"),
    "boost": (Boost(2, masses=[1.0, 2.0]), "point"),
    "product": (Translation(3) * Rotation(3) * Permutation(), "point"),
    "generator": (
        as_group(Generator.linear("shear", torch.tensor([[0.0, 1.0], [0.0, 0.0]]))),
        "point",
    ),
}


@pytest.mark.parametrize("name", list(GROUPS))
def test_group_sample_act_generators_and_exp(name, device):
    group, kind = GROUPS[name]
    d = 3 if name in ("rotation", "product") else 2
    S = (2, d)
    x = _states(B=4, d=d)[0] if kind != "time" else torch.linspace(0.0, 1.0, 4, dtype=F64)
    t = torch.linspace(0.0, 1.0, 4, dtype=F64)
    g = group.sample(4, S, rng=0)
    ref = group.act(g, x, kind, t=t)
    same(group.act(to_device(g, device), x.to(device), kind, t=t.to(device)), ref, device)
    # an element drawn on the host acts on device tensors once moved, and vice versa: same result
    for gen in group.generators(S):
        q = _states(B=4, d=d)[0]
        same(gen.xi(q.to(device), t.to(device)), gen.xi(q, t), device)
        if gen.has_boundary:
            v = _states(B=4, d=d)[1]
            same(gen.boundary(q.to(device), t.to(device)), gen.boundary(q, t), device)
            same(gen.boundary_rate(q.to(device), v.to(device), t.to(device)),
                 gen.boundary_rate(q, v, t), device)  # fmt: skip
        s = torch.linspace(-1.0, 1.0, 4, dtype=F64)
        e = group.exp(gen.name, s.to(device), S)
        same(e, group.exp(gen.name, s, S), device)
        same(group.act(e, x.to(device), kind, t=t.to(device)),
             group.act(group.exp(gen.name, s, S), x, kind, t=t), device)  # fmt: skip


# ----------------------------------------------------------------------------- assert helpers


def test_assert_invariant_equivariant_and_conserved(device):
    E3 = Translation(2) * Rotation(2) * Permutation()
    q, v = _states()
    qd, vd = q.to(device), v.to(device)
    r = assert_invariant(spring_lagrangian, E3, (qd, vd), ("point", "vector"), rng=0)
    assert r.passed
    # both directions: a potential pinned to the origin is not translation-invariant
    with pytest.raises(AssertionError):
        assert_invariant(lambda q: q.pow(2).sum(dim=(-2, -1)), Translation(2), qd, "point", rng=0)
    r = assert_equivariant(lambda q: q - q.mean(dim=-2, keepdim=True), Rotation(2) * Permutation(),
                           qd, "point", "point", rng=0)  # fmt: skip
    assert r.passed
    with pytest.raises(AssertionError):
        assert_equivariant(lambda q: q + 1.0, Rotation(2), qd, "point", "point", rng=0)
    assert_conserved(spring_lagrangian, Translation(2) * Rotation(2) * TimeShift(), qd, vd,
                     dt=0.01, steps=20)  # fmt: skip
    with pytest.raises(AssertionError):
        assert_conserved(lambda q, v: spring_lagrangian(q, v) - q[:, 0, 0], Translation(2),
                         qd, vd, dt=0.01, steps=20)  # fmt: skip


# ------------------------------------------------------------------ vector fields, integrators


def test_vector_fields(device):
    q, v = _states()
    f = lagrangian_vector_field(spring_lagrangian)
    t = torch.zeros(3, dtype=F64)
    same(f(q.to(device), v.to(device), t.to(device)), f(q, v, t), device)
    h = hamiltonian_vector_field(spring_hamiltonian)
    same(h(q.to(device), v.to(device), t.to(device)), h(q, v, t), device)


@pytest.mark.parametrize("method", sorted(integrators))
def test_every_integrator_rollout(method, device):
    q, v = _states()
    f = lagrangian_vector_field(spring_lagrangian)
    kw = dict(dt=0.01, steps=8, method=method, compile=False)
    ref = rollout(f, q, v, **kw)
    out = rollout(f, q.to(device), v.to(device), **kw)
    same((out.t, out.q, out.v), (ref.t, ref.q, ref.v), device, rtol=1e-9)


@pytest.mark.slow  # compiling takes ~20 s on CPU
def test_compiled_rollout(device):
    q, v = _states()
    f = lagrangian_vector_field(spring_lagrangian)
    kw = dict(dt=0.01, steps=8, method="rk4")
    ref = rollout(f, q, v, **kw, compile=False)
    out = rollout(f, q.to(device), v.to(device), **kw, compile=True)
    same((out.q, out.v), (ref.q, ref.v), device, rtol=1e-9)


# ------------------------------------------------------------------------------------- layers


def _layer(name: str):
    """(layer, inputs, equivariance spec) for each layer of symnet.nn; None spec: declared."""
    from symnet.groups import Vector

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 3, generator=g, dtype=F64)
    h = torch.randn(2, 5, 4, generator=g, dtype=F64)
    rot, perm = Rotation(3), Permutation()
    specs = {
        "EquivariantLinear": lambda: (
            snn.EquivariantLinear(rot, Vector(rot), Vector(rot) * 2),
            x[:, 0],
            None,
        ),  # fmt: skip
        "PermEquivariantLinear": lambda: (
            snn.PermEquivariantLinear(3, 4),
            x,
            (perm, "scalar", "scalar"),
        ),  # fmt: skip
        "DeepSets": lambda: (snn.DeepSets(3, 8, 2), x, (perm, "scalar", "global")),
        "InvariantFeatures": lambda: (
            snn.InvariantFeatures(output="global"),
            x,
            (Translation(3) * rot * perm, "point", "global"),
        ),  # fmt: skip
        "Centered": lambda: (
            snn.Centered(lambda q: q**2, "point", "point"),
            x,
            (Translation(3) * perm, "point", "point"),
        ),  # fmt: skip
        "FrameAveraged": lambda: (
            snn.FrameAveraged(lambda q: q[..., 0, :1] * q[..., 1, :1], "point"),
            x,
            (Translation(3) * rot, "point", "global"),
        ),  # fmt: skip
        "GroupAveraged": lambda: (
            snn.GroupAveraged(lambda q: q[..., 0, :], perm, "scalar"),
            x,
            (perm, "scalar", "global"),
        ),  # fmt: skip
        "EGNNLayer": lambda: (snn.EGNNLayer(4, 8), (h, x), None),
        "EGNN": lambda: (
            snn.EGNN(4, 8, 2, n_layers=2, update_velocity=True),
            (h, x, x.flip(0)),
            None,
        ),  # fmt: skip
    }
    return specs[name]()


LAYERS = ["EquivariantLinear", "PermEquivariantLinear", "DeepSets", "InvariantFeatures",
          "Centered", "FrameAveraged", "GroupAveraged", "EGNNLayer", "EGNN"]  # fmt: skip


@pytest.mark.parametrize("name", LAYERS)
def test_layers(name, device):
    layer, inputs, spec = _layer(name)
    layer = layer.double()
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    ref = layer(*args)
    moved = layer.to(device)
    dev_args = to_device(args, device)
    same(moved(*dev_args), ref, device)
    if spec is None:
        assert assert_equivariant(moved, dev_args, rng=0).passed
    else:
        group, kin, kout = spec
        assert assert_equivariant(moved, group, dev_args[0], kin, kout, rng=0).passed


def test_egnn_conv_on_a_graph(device):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2)
    pos = torch.randn(6, 3, generator=g, dtype=F64)
    x = torch.randn(6, 4, generator=g, dtype=F64)
    edges = snn.radius_graph(pos, r=1.5)
    conv = snn.EGNNConv(4, 8).double()
    ref = conv(x, pos, edges)
    conv = conv.to(device)
    out = conv(x.to(device), pos.to(device), snn.radius_graph(pos.to(device), r=1.5))
    same(out, ref, device)
    R = Rotation(3).sample(1, (6, 3), rng=0)[0].to(device)
    h2, p2 = conv(x.to(device), pos.to(device) @ R.T, edges.to(device))
    same((h2, p2 @ R), ref, device)  # rotating the input rotates the positions only

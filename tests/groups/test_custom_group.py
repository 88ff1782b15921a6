"""The user-defined group of docs/groups.md works wherever a built-in group does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from symnet.groups import Generator, OneParameterGroup, Rotation, Vector, as_group
from symnet.nn import EquivariantLinear
from symnet.testing import assert_equivariant, assert_invariant

DOC = Path(__file__).resolve().parents[2] / "docs" / "groups.md"


def _run_docs() -> dict:
    """Execute every python block of docs/groups.md in one namespace, in order."""
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S):
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102
    return namespace


def test_documented_screw_group_runs_and_checks() -> None:
    ns = _run_docs()
    screw, report = ns["screw"], ns["report"]
    assert report.verdicts == {"screw": "conserved", "translation_z": "broken"}
    gen = screw.generators((2, 3))[0]
    assert gen.charge_label == "S" and gen.group is screw
    assert ns["layer"].basis_dim == 3 and repr(ns["layer"].group) == "Screw(0.5)"
    # a potential that ignores the helix phase breaks the screw symmetry
    with pytest.raises(AssertionError, match="not invariant"):
        assert_invariant(lambda q: q[..., 0].sum(-1), screw, ns["q"], "point")


def test_a_plain_generator_is_a_group_everywhere() -> None:
    Jz = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
    rot = Generator.linear("spin", Jz)
    q = torch.randn(3, 4, 2, dtype=torch.float64)
    assert assert_invariant(lambda q: (q**2).sum((-1, -2)), rot, q, "point").passed
    layer = EquivariantLinear(rot, Vector(rot), Vector(rot))
    assert layer.basis_dim == 2  # a I + b J, as for Rotation(2)
    assert assert_equivariant(layer, torch.randn(5, 2)).passed
    assert as_group(rot) == as_group(rot) and as_group(Rotation(2)) == Rotation(2)
    with pytest.raises(TypeError, match="Group or Generator"):
        as_group("spin")


def test_flow_of_a_nonlinear_generator() -> None:
    """Without a matrix the flow is integrated; a radial scaling x -> x e^s is exact enough."""
    G = OneParameterGroup(Generator("dilate", lambda q: q), steps=64)
    x = torch.randn(2, 3, 2, dtype=torch.float64)
    g = G.exp("dilate", torch.tensor([0.3, -0.2], dtype=torch.float64), (3, 2))
    moved = G.act(g, x, "point")
    expected = x * torch.exp(torch.tensor([0.3, -0.2], dtype=torch.float64))[:, None, None]
    assert torch.allclose(moved, expected, rtol=1e-9, atol=0)
    assert G.supports_kind(as_kind_vector()) is False
    with pytest.raises(ValueError, match="affine generator"):
        G.act(g, x, "vector")


def as_kind_vector():
    from symnet.groups import as_kind

    return as_kind("vector")


def test_time_component_and_scale() -> None:
    shift = OneParameterGroup(Generator("later", lambda q: torch.zeros_like(q), tau=1.0))
    t = torch.zeros(3, dtype=torch.float64)
    assert torch.equal(shift.act(torch.tensor([2.0]), t[None], "time"), torch.full((1, 3), 2.0))
    with pytest.raises(ValueError, match="scale"):
        OneParameterGroup(Generator("x", lambda q: q), scale=0.0)

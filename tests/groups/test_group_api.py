"""What other packages need from a group: names, charges, finite elements, the output rule."""

from __future__ import annotations

import pytest
import torch

from symnet.groups import (
    Boost,
    Generator,
    Group,
    Permutation,
    Rotation,
    SymmetrySet,
    TimeShift,
    Translation,
    VectorGroup,
    resolve_symmetries,
    valid_symmetry_names,
)


def test_registered_names_and_by_name() -> None:
    assert Group.registered_names() == [
        "translation", "rotation", "time", "boost", "permutation", "reflection", "lorentz",
        "symplectic",
    ]  # fmt: skip
    assert Group.by_name("translation", (4, 3)) == Translation(3)
    assert Group.by_name("rotation", (4, 2)) == Rotation(2)
    assert Group.by_name("time", (7,)) == TimeShift()
    assert Group.by_name("permutation", (4, 3)) == Permutation()
    assert Group.by_name("boost", (2, 3), masses=torch.tensor([1.0, 2.0])) == Boost(3, [1.0, 2.0])
    assert Group.by_name("boost", (2, 3), infer_masses=lambda: 3.0) == Boost(3, 3.0)
    with pytest.raises(ValueError, match="needs the particle masses"):
        Group.by_name("boost", (2, 3))
    with pytest.raises(ValueError, match=r"needs configuration shape \(N, d\)"):
        Group.by_name("rotation", (4,))
    with pytest.raises(ValueError, match="unknown group 'screw'"):
        Group.by_name("screw", (4, 3))


def test_charge_labels() -> None:
    gens = resolve_symmetries(
        ["translation", "rotation", "time", "boost"], (2, 3), masses=1.0
    ).generators
    assert [g.charge_label for g in gens] == [
        "P_x", "P_y", "P_z", "L_x", "L_y", "L_z", "-E", "K_x", "K_y", "K_z",
    ]  # fmt: skip
    assert Rotation(2).generators((1, 2))[0].charge_label == "L"
    assert Rotation(4).generators((1, 4))[0].charge_label == "L_01"
    assert Generator("swirl", lambda q: q).charge_label == "J[swirl]"
    assert [Translation(2).charge_symbol, Permutation.charge_symbol] == ["P", None]
    G = Translation(3) * Rotation(3)
    assert G.charge_label("rotation_y") == "L_y"


def test_resolve_symmetries() -> None:
    spec = resolve_symmetries([Translation(3) * Permutation(), "rotation_z"], (4, 3))
    assert isinstance(spec, SymmetrySet) and spec.discrete == [Permutation()]
    assert [g.name for g in spec.generators][-1] == "rotation_z"
    calls = []
    spec = resolve_symmetries(
        ["boost_x", "boost_y"], (2, 3), infer_masses=lambda: calls.append(1) or 2.0
    )
    assert len(spec.generators) == 2 and calls == [1]  # masses read once
    own = Generator("own", lambda q: q)
    assert resolve_symmetries(own, (3,)).generators == [own]
    with pytest.raises(ValueError, match="unknown symmetry 'rotation_w'; expected one of"):
        resolve_symmetries("rotation_w", (4, 3))
    with pytest.raises(ValueError, match="more than once"):
        resolve_symmetries(["translation", "translation_x"], (4, 3))
    with pytest.raises(ValueError, match="at least one"):
        resolve_symmetries([], (4, 3))
    with pytest.raises(TypeError, match="groups, generators or names"):
        resolve_symmetries(3, (4, 3))
    with pytest.raises(ValueError, match="acts on particles in 3 dimensions"):
        resolve_symmetries(Rotation(3), (4, 2))


def test_valid_symmetry_names() -> None:
    names = valid_symmetry_names((4, 2))
    assert names == [
        "translation", "translation_x", "translation_y", "rotation", "time", "boost",
        "boost_x", "boost_y", "permutation", "reflection", "symplectic", "phase", "squeeze",
        "hyper",
    ]  # fmt: skip
    assert valid_symmetry_names((6,)) == ["time"]


def test_elements_of_finite_groups() -> None:
    P = Permutation()
    e = P.elements((4, 3))
    assert e.shape == (24, 4) and len({tuple(r) for r in e.tolist()}) == 24
    assert P.order((4, 3)) == 24 and Rotation(3).order((4, 3)) is None
    with pytest.raises(ValueError, match="not a finite group"):
        Rotation(3).elements((4, 3))
    assert Permutation().discrete and (Translation(3) * P).order((4, 3)) is None


def test_act_output_leaves_foreign_particle_axes_alone() -> None:
    G = Rotation(3) * Permutation()
    g = G.sample(1, (4, 3), rng=0)
    centre = torch.randn(1, 1, 3, dtype=torch.float64)  # not indexed by the 4 particles
    rotated = Rotation(3).act(g[0], centre, "vector")
    assert torch.allclose(G.act_output(g, centre, "vector", (4, 3)), rotated)
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    assert torch.equal(G.act_output(g, x, "vector", (4, 3)), G.act(g, x, "vector"))
    assert torch.equal(Permutation().act_output(g[1], centre, "vector", (4, 3)), centre)
    assert Permutation.permutes_particles and not Rotation.permutes_particles


def test_sample_rng_and_old_generator_argument() -> None:
    T = Translation(3)
    a = T.sample(3, (2, 3), rng=7)
    assert torch.equal(a, T.sample(3, (2, 3), rng=torch.Generator().manual_seed(7)))
    with pytest.warns(DeprecationWarning, match="use rng="):
        b = T.sample(3, (2, 3), generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_one_abelian_base() -> None:
    for G in (Translation(3), Boost(3), TimeShift()):
        assert isinstance(G, VectorGroup)
        g = G.sample(4, (2, 3), rng=1)
        assert torch.equal(G.compose(g, G.inverse(g)), G.identity(4, (2, 3)))
    with pytest.raises(ValueError, match="scale must be positive"):
        Boost(3, scale=-1.0)


def test_public_modules_and_old_paths() -> None:
    from symnet.groups import _base, _generator, _kinds, generator, group, kinds, utils
    from symnet.groups.rotation import default_dtype
    from symnet.groups.translation import axis_names

    assert _base.Group is group.Group and _generator.Generator is generator.Generator
    assert _kinds.Kind is kinds.Kind
    assert default_dtype is utils.default_dtype and axis_names is utils.axis_names

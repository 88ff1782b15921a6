"""Bad input to the checker: each a clear error that names the argument."""

from __future__ import annotations

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Boost, Rotation
from symnet.mechanics import SingularMassMatrixError
from symnet.noether import VerdictThresholds

SPRING = S.TwoBodySpring()


@pytest.fixture(scope="module")
def states():
    return SPRING.sample_states(3, torch.Generator().manual_seed(0))


def _check(L, symmetries, q, v, **kwargs):
    kw = {"dt": 0.01, "steps": 4, "field": SPRING.acceleration, **kwargs}
    return nt.check(L, symmetries, q, v, **kw)


@pytest.mark.parametrize(
    ("wrong", "got"),
    [
        (lambda q, v: SPRING.lagrangian(q, v)[:, None], r"\(3, 1\)"),
        (lambda q, v: SPRING.lagrangian(q, v).sum(), r"\(\)"),
        (lambda q, v: SPRING.lagrangian(q, v)[:2], r"\(2,\)"),
    ],
    ids=["(B,1)", "scalar", "wrong batch"],
)
def test_l_of_the_wrong_shape(states, wrong, got):
    with pytest.raises(
        ValueError, match=rf"L must return shape \(3,\) for a batch of 3, got {got}"
    ):
        _check(wrong, "translation", *states)


def test_l_returning_a_non_tensor(states):
    with pytest.raises(TypeError, match="^L could not be differentiated"):
        _check(lambda q, v: 1.0, "translation", *states)


@pytest.mark.parametrize(
    "how",
    ["item", "float", "numpy", "branch", "in-place"],
)
def test_l_that_torch_func_cannot_differentiate(states, how):
    """A gradient cut by .item()/float()/numpy would give silently wrong charges: TypeError."""

    def lagrangian(q, v):
        base = SPRING.lagrangian(q, v)
        if how == "item":
            return base * (1.0 + 0.0 * q.sum().item())
        if how == "float":
            return base * float(q.abs().sum() > 0)
        if how == "numpy":
            return torch.as_tensor(base.numpy())
        if how == "branch":
            return base if bool((q[..., 0] > -100).all()) else -base
        q.mul_(1.0)
        return base

    q, v = states
    with pytest.raises(TypeError, match=r"^L could not be differentiated") as info:
        _check(lagrangian, "translation", q.clone(), v)
    assert "torch" in str(info.value)


def test_l_with_detached_inputs(states):
    """Gradients cut by .detach(): every charge would be 0 and every verdict 'conserved'."""
    with pytest.raises(ValueError, match=r"L does not depend on qdot.*\.detach\(\)"):
        _check(lambda q, v: SPRING.lagrangian(q.detach(), v.detach()), "translation", *states)


def test_l_not_callable(states):
    with pytest.raises(TypeError, match="L must be callable, got float"):
        _check(3.0, "translation", *states)


def test_l_non_finite(states):
    with pytest.raises(ValueError, match="L.*contains NaN"):
        _check(lambda q, v: SPRING.lagrangian(q, v) * float("nan"), "translation", *states)


def test_nan_in_q0(states):
    q, v = states
    q = q.clone()
    q[1, 0, 2] = float("nan")
    with pytest.raises(ValueError, match=r"q0 contains NaN \(first at index \(1, 0, 2\)\)"):
        _check(SPRING.lagrangian, "translation", q, v)
    with pytest.raises(ValueError, match="qdot0 contains inf"):
        _check(SPRING.lagrangian, "translation", states[0], v / 0.0)


@pytest.mark.parametrize("sl", [(slice(None), slice(0, 1)), (slice(0, 2),)], ids=["S", "B"])
def test_q0_qdot0_shape_mismatch(states, sl):
    q, v = states
    with pytest.raises(ValueError, match=r"q0 and qdot0 must have the same shape \(B, \*S\)"):
        _check(SPRING.lagrangian, "translation", q, v[sl])


def test_q0_not_a_float_tensor(states):
    q, v = states
    with pytest.raises(TypeError, match="q0 must be a torch.Tensor, got list"):
        _check(SPRING.lagrangian, "translation", q.tolist(), v)
    with pytest.raises(TypeError, match="qdot0 must be a floating-point tensor"):
        _check(SPRING.lagrangian, "translation", q, v.long())
    with pytest.raises(ValueError, match="q0 must have at least 2 dimensions"):
        _check(SPRING.lagrangian, "translation", q[:, 0, 0], v[:, 0, 0])


def test_group_of_the_wrong_dimension(states):
    q, v = states
    q2, v2 = q[..., :2].contiguous(), v[..., :2].contiguous()
    with pytest.raises(
        ValueError, match=r"Rotation\(3\) acts on particles in 3 dimensions.*\(2, 2\)"
    ):
        _check(lambda q, v: (v * v).sum((-1, -2)), Rotation(3), q2, v2, field=None)
    with pytest.raises(ValueError, match=r"Boost\(3, masses=\[1, 1, 1\]\) has 3 masses.*N = 2"):
        _check(SPRING.lagrangian, Boost(3, torch.ones(3)), q, v)
    with pytest.raises(ValueError, match="'rotation' acts on particles and needs"):
        _check(lambda q, v: (v * v).sum(-1), "rotation", q[:, 0], v[:, 0], field=None)


def test_unknown_method(states):
    with pytest.raises(ValueError, match="unknown integration method 'rk5'; available: .*rk4"):
        _check(SPRING.lagrangian, "translation", *states, method="rk5")


@pytest.mark.parametrize("name", ["translatoin", "rotation_w", "scale"])
def test_unknown_symmetry_name(states, name):
    with pytest.raises(
        ValueError, match=rf"unknown symmetry '{name}'; expected one of translation"
    ):
        _check(SPRING.lagrangian, name, *states)


def test_bad_symmetries_argument(states):
    with pytest.raises(ValueError, match="at least one symmetry"):
        _check(SPRING.lagrangian, [], *states)
    with pytest.raises(ValueError, match=r"\['translation_x'\] more than once"):
        _check(SPRING.lagrangian, ["translation", "translation_x"], *states)
    with pytest.raises(TypeError, match="symmetries must be groups, generators or names"):
        _check(SPRING.lagrangian, 3, *states)


@pytest.mark.parametrize("steps", [1, 0, -5, 2.0, "10"])
def test_steps_below_two(states, steps):
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        _check(SPRING.lagrangian, "translation", *states, steps=steps)


@pytest.mark.parametrize("dt", [0, 0.0, -0.01, float("nan"), float("inf"), "0.1"])
def test_dt_not_positive(states, dt):
    with pytest.raises(ValueError, match="dt must be a positive finite number"):
        _check(SPRING.lagrangian, "translation", *states, dt=dt)


def test_bad_t0_and_thresholds(states):
    with pytest.raises(ValueError, match="t0 must be a finite number"):
        _check(SPRING.lagrangian, "translation", *states, t0=float("nan"))
    with pytest.raises(TypeError, match="thresholds must be a symnet.noether.VerdictThresholds"):
        _check(SPRING.lagrangian, "translation", *states, thresholds={"drift": 1e-6})
    _check(SPRING.lagrangian, "translation", *states, thresholds=VerdictThresholds(drift=1e-6))


def test_bad_field(states):
    with pytest.raises(TypeError, match="field must be a VectorField or a callable"):
        _check(SPRING.lagrangian, "translation", *states, field=3)


def test_singular_mass_matrix_names_the_batch_index():
    """``L = 1/2 (qdot_1 + qdot_2)^2``: the Euler-Lagrange equations do not determine qddot."""

    def lagrangian(q, v):
        return 0.5 * (v[:, 0] + v[:, 1]) ** 2

    g = torch.Generator().manual_seed(0)
    q = torch.randn(3, 2, generator=g, dtype=torch.float64)
    v = torch.randn(3, 2, generator=g, dtype=torch.float64)
    with pytest.raises(SingularMassMatrixError, match="singular at batch index 0") as info:
        nt.check(lagrangian, "time", q, v, dt=0.01, steps=4)
    assert isinstance(info.value, ValueError)
    assert info.value.batch_index == 0
    assert "d2L/dqdot2" in str(info.value)


def test_closure_over_a_float32_module_gets_a_dtype_hint(states):
    """Only an nn.Module passed as L is cast to float64; a closure over one is not."""
    net = torch.nn.Linear(12, 1)  # float32

    def lagrangian(q, v):
        return net(torch.cat([q.flatten(1), v.flatten(1)], -1)).squeeze(-1)

    with pytest.raises(TypeError, match=r"L could not be evaluated in float64.*pass the module"):
        _check(lagrangian, "translation", *states)

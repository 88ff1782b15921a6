"""VectorField classes: call forms, split forms, velocity dependence."""

from __future__ import annotations

import pytest
import torch

from symnet.mechanics import (
    HamiltonianField,
    SecondOrderField,
    VectorField,
    as_vector_field,
    hamiltonian_vector_field,
    lagrangian_vector_field,
)

from ._closed_forms import (
    F64,
    H_charge,
    H_kepler,
    L_charge,
    L_double_pendulum,
    L_kepler,
    random_state,
)


def test_second_order_field_forms() -> None:
    f = SecondOrderField(lambda q, v: -q)
    q, v, t = random_state((2,))
    assert f.order == 2 and not f.uses_time and f.velocity_dependent is None
    assert torch.equal(f(q, v), -q)
    x, y = f.derivative(q, v, t)
    assert x is v and torch.equal(y, -q)
    assert f.drift(q, v, t) is v and torch.equal(f.kick(q, v, t), -q)
    assert "SecondOrderField" in repr(f)
    g = SecondOrderField(lambda q, v, t: -q * t[:, None])
    assert g.uses_time
    assert torch.equal(g(q, v, 2.0), -2.0 * q)


def test_hamiltonian_field_forms() -> None:
    f = HamiltonianField(lambda q, p: (p, -q), separable=True)
    q, p, t = random_state((2,))
    assert f.order == 1 and f.velocity_dependent is False
    qd, pd = f(q, p)
    assert torch.equal(qd, p) and torch.equal(pd, -q)
    assert torch.equal(f.kick(q, p, t), -q) and torch.equal(f.drift(q, p, t), p)


def test_as_vector_field() -> None:
    f = SecondOrderField(lambda q, v: -q)
    assert as_vector_field(f) is f
    g = as_vector_field(lambda q, v: -q)
    assert isinstance(g, SecondOrderField) and g.order == 2
    with pytest.raises(TypeError, match="VectorField or a callable"):
        as_vector_field(3)
    with pytest.raises(TypeError):
        VectorField()  # abstract


@pytest.mark.parametrize(
    "field, dependent",
    [
        (SecondOrderField(lambda q, v: -q), False),
        (SecondOrderField(lambda q, v: -q - 0.1 * v), True),
        (lagrangian_vector_field(L_kepler), False),
        (lagrangian_vector_field(L_charge), True),
        (hamiltonian_vector_field(H_kepler), False),
        (hamiltonian_vector_field(H_charge), True),
    ],
    ids=["oscillator", "damped", "kepler_L", "charge_L", "kepler_H", "charge_H"],
)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_velocity_dependence_is_measured(field, dependent, dtype) -> None:
    q, v, t = random_state((3,), dtype=dtype)
    size = field.velocity_dependence(q, v, t)
    if dependent:
        assert size > 1e-3
        with pytest.raises(ValueError, match="implicit_midpoint"):
            field.check_splittable(q, v, t, "leapfrog")
    else:
        assert size <= (1e-10 if dtype == torch.float64 else 1e-5)
        field.check_splittable(q, v, t, "leapfrog")


def test_velocity_dependence_at_rest_is_detected() -> None:
    # the Lorentz force vanishes at v = 0 but still depends on v
    q, _, t = random_state((3,))
    f = lagrangian_vector_field(L_charge)
    assert f.velocity_dependence(q, torch.zeros_like(q), t) > 0.1


def test_double_pendulum_depends_on_velocity() -> None:
    q, v, t = random_state((2,))
    assert lagrangian_vector_field(L_double_pendulum).velocity_dependence(q, v, t) > 1e-3


def test_declared_flags_skip_the_measurement() -> None:
    q, v, t = random_state((2,))
    SecondOrderField(lambda q, v: -v, velocity_dependent=False).check_splittable(q, v, t, "x")
    with pytest.raises(ValueError, match="declared"):
        SecondOrderField(lambda q, v: -q, velocity_dependent=True).check_splittable(q, v, t, "x")
    with pytest.raises(ValueError, match="not separable"):
        HamiltonianField(lambda q, p: (p, -q), separable=False).check_splittable(q, v, t, "x")


def test_field_call_validates() -> None:
    f = SecondOrderField(lambda q, v: -q)
    with pytest.raises(ValueError, match="same shape"):
        f(torch.ones(2, 1, dtype=F64), torch.ones(3, 1, dtype=F64))
    with pytest.raises(ValueError, match="same dtype"):
        f(torch.ones(2, 1, dtype=F64), torch.ones(2, 1))
    with pytest.raises(TypeError, match="floating"):
        f(torch.ones(2, 1, dtype=torch.long), torch.ones(2, 1, dtype=torch.long))
    with pytest.raises(TypeError, match="callable"):
        SecondOrderField(1.0)


# ------------------------------------------------------------------ traceable forms


def test_traceable_of_a_user_field_is_its_function() -> None:
    q, v, t = random_state((2,))
    g = SecondOrderField(lambda q, v: -q).traceable()
    out, bad = g(q, v, t)
    assert torch.equal(out, -q) and bad is None
    timed = SecondOrderField(lambda q, v, t: -q * t[:, None]).traceable()
    assert torch.equal(timed(q, v, t)[0], -q * t[:, None])
    pair = HamiltonianField(lambda q, p: (p, -q)).traceable()
    (qd, pd), bad = pair(q, v, t)
    assert torch.equal(qd, v) and torch.equal(pd, -q) and bad is None


@pytest.mark.parametrize(
    "field",
    [lagrangian_vector_field(L_double_pendulum), hamiltonian_vector_field(H_charge)],
    ids=["lagrangian", "hamiltonian"],
)
def test_traceable_of_derived_fields_agrees_with_the_field(field) -> None:
    shape = (2,) if field.order == 2 else (3,)
    q, v, t = random_state(shape)
    expected = field(q, v, t)
    out, bad = field.traceable()(q, v, t)
    if field.order == 2:
        assert torch.allclose(out, expected, rtol=1e-12, atol=1e-12)
        assert bad.shape == (q.shape[0],) and bad.dtype == torch.bool and not bad.any()
    else:
        for a, b in zip(out, expected, strict=True):
            assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
        assert bad is None


def test_traceable_marks_the_states_where_the_field_raises() -> None:
    from symnet.mechanics import SingularMassMatrixError

    def L(q, v):  # noqa: N802 - M = diag(exp(-q_0), 1)
        return 0.5 * torch.exp(-q[:, 0]) * v[:, 0] ** 2 + 0.5 * v[:, 1] ** 2

    f = lagrangian_vector_field(L, max_condition=10.0)
    q = torch.tensor([[0.0, 0.0], [2.5, 0.0], [1.0, 0.0]], dtype=F64)
    v = torch.zeros_like(q)
    _, bad = f.traceable()(q, v, torch.zeros(3, dtype=F64))
    assert bad.tolist() == [False, True, False]
    with pytest.raises(SingularMassMatrixError, match="batch index 1"):
        f(q, v)

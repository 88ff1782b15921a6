"""hamiltonian_vector_field: closed forms, validation, differentiability."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symnet.mechanics import HamiltonianField, hamiltonian_vector_field

from ._closed_forms import F64, HAMILTONIAN_CASES, random_state, rel


@pytest.mark.parametrize("case", HAMILTONIAN_CASES, ids=lambda c: c[0])
def test_field_matches_closed_form_float64(case) -> None:
    _, H, closed, shape = case
    q, p, t = random_state(shape)
    f = hamiltonian_vector_field(H)
    assert isinstance(f, HamiltonianField) and f.order == 1 and f.source is H
    qdot, pdot = f(q, p, t)
    eqdot, epdot = closed(q, p, t)
    assert qdot.shape == pdot.shape == q.shape
    assert rel(qdot, eqdot) < 1e-13
    assert rel(pdot, epdot) < 1e-13


@pytest.mark.parametrize("case", HAMILTONIAN_CASES, ids=lambda c: c[0])
def test_field_float32(case) -> None:
    _, H, closed, shape = case
    q, p, t = random_state(shape, dtype=torch.float32)
    qdot, pdot = hamiltonian_vector_field(H)(q, p, t)
    assert qdot.dtype == pdot.dtype == torch.float32
    eqdot, epdot = closed(q.double(), p.double(), t.double())
    assert rel(qdot, eqdot) < 1e-5 and rel(pdot, epdot) < 1e-5


def test_time_argument_forms() -> None:
    _, H, closed, shape = HAMILTONIAN_CASES[-1]
    q, p, _ = random_state(shape)
    f = hamiltonian_vector_field(H)
    assert f.uses_time
    expected = closed(q, p, torch.full((7,), 0.4, dtype=F64))
    for t in (0.4, torch.tensor(0.4, dtype=F64), torch.full((7,), 0.4, dtype=F64)):
        got = f(q, p, t)
        assert rel(got[0], expected[0]) < 1e-14 and rel(got[1], expected[1]) < 1e-14
    with pytest.raises(ValueError, match=r"t must be .* \(7,\)"):
        f(q, p, torch.zeros(3, dtype=F64))


def test_validation() -> None:
    _, H, _, _ = HAMILTONIAN_CASES[0]
    f = hamiltonian_vector_field(H)
    with pytest.raises(ValueError, match="q and p must have the same shape"):
        f(torch.ones(2, 3, dtype=F64), torch.ones(2, 2, dtype=F64))
    p = torch.ones(2, 3, dtype=F64)
    p[1, 2] = float("nan")
    with pytest.raises(ValueError, match="^p contains NaN"):
        f(torch.ones(2, 3, dtype=F64), p)
    bad = hamiltonian_vector_field(lambda q, p: H(q, p)[:, None])
    with pytest.raises(ValueError, match=r"shape \(2,\) = \(B,\); it returned shape \(2, 1\)"):
        bad(torch.ones(2, 3, dtype=F64), torch.ones(2, 3, dtype=F64))
    with pytest.raises(TypeError):
        hamiltonian_vector_field("H")


class MLPHamiltonian(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.net = nn.Sequential(nn.Linear(4, 4), nn.Softplus(), nn.Linear(4, 1)).double()

    def forward(self, q, p):
        return self.net(torch.cat([q, p], -1))[:, 0]


def test_differentiable_wrt_parameters_and_state() -> None:
    H = MLPHamiltonian()
    q, p, _ = random_state((2,), batch=3)
    names = [n for n, _ in H.named_parameters()]
    params = tuple(x.detach().clone().requires_grad_() for x in H.parameters())

    def field_of(*ps):
        f = hamiltonian_vector_field(
            lambda a, b: torch.func.functional_call(H, dict(zip(names, ps, strict=True)), (a, b))
        )
        return f(q, p)

    assert torch.autograd.gradcheck(field_of, params, fast_mode=True)
    f = hamiltonian_vector_field(H)
    qs, ps = q.clone().requires_grad_(), p.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: f(a, b), (qs, ps), fast_mode=True)


def test_output_requires_grad_only_when_needed() -> None:
    _, H, _, shape = HAMILTONIAN_CASES[0]
    q, p, _ = random_state(shape)
    qdot, pdot = hamiltonian_vector_field(H)(q, p)
    assert not qdot.requires_grad and not pdot.requires_grad
    with torch.no_grad():  # the gradient is taken even under no_grad
        qdot2, _ = hamiltonian_vector_field(H)(q, p)
    assert torch.equal(qdot, qdot2)


def test_inputs_not_modified() -> None:
    _, H, _, shape = HAMILTONIAN_CASES[1]
    q, p, t = random_state(shape)
    copies = q.clone(), p.clone(), t.clone()
    hamiltonian_vector_field(H)(q, p, t)
    for a, b in zip((q, p, t), copies, strict=True):
        assert torch.equal(a, b)

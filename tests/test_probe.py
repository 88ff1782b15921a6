"""The autodiff probe (symnet._probe) and the shared call conventions (symnet._util)."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from symnet._probe import GradientMismatchError, check_autodiff
from symnet._util import accepts_time, cast_callable, dtype_mismatch, with_time

DTYPES = [torch.float64, torch.float32]


def _states(dtype: torch.dtype, rest: bool = False) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(4, 2, 3, generator=g, dtype=dtype)
    v = torch.zeros_like(q) if rest else torch.randn(4, 2, 3, generator=g, dtype=dtype)
    return q, v, torch.zeros(4, dtype=dtype)


def _kinetic(qdot: torch.Tensor) -> torch.Tensor:
    return 0.5 * (qdot**2).sum(dim=(-2, -1))


def harmonic(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    return _kinetic(qdot) - 0.5 * (q**2).sum(dim=(-2, -1))


def potential_under_no_grad(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        V = 0.5 * (q**2).sum(dim=(-2, -1))
    return _kinetic(qdot) - V


def potential_on_detached(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    return _kinetic(qdot) - 0.5 * (q.detach() ** 2).sum(dim=(-2, -1))


def kinetic_on_detached(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    return _kinetic(qdot) + _kinetic(qdot.detach()) - (q**2).sum(dim=(-2, -1))


def value_through_item(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    return _kinetic(qdot) + float((q**2).sum().item())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rest", [False, True])
def test_consistent_function_passes(dtype: torch.dtype, rest: bool) -> None:
    check_autodiff(harmonic, *_states(dtype, rest))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (potential_under_no_grad, "q"),
        (potential_on_detached, "q"),
        (kinetic_on_detached, "qdot"),
        (value_through_item, "q"),
    ],
)
def test_lost_gradient_is_named(dtype: torch.dtype, fn: object, arg: str) -> None:
    with pytest.raises(GradientMismatchError, match=f"with respect to {arg} disagrees"):
        check_autodiff(fn, *_states(dtype, rest=True))


def test_hamiltonian_names() -> None:
    with pytest.raises(ValueError, match="H's autodiff derivative with respect to q"):
        check_autodiff(
            potential_on_detached, *_states(torch.float64), name="H", arg_names=("q", "p")
        )


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_kinks_are_not_mismatches(dtype: torch.dtype) -> None:
    for seed in range(25):
        torch.manual_seed(seed)
        net = nn.Sequential(
            nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
        )
        net = net.to(dtype)

        def lagrangian(q: torch.Tensor, qdot: torch.Tensor, net: nn.Module = net) -> torch.Tensor:
            return 10 * net(torch.cat([q, qdot], -1).flatten(1))[:, 0]

        q, v, t = _states(dtype)
        check_autodiff(lagrangian, 3 * q, v, t, seed=seed)


def test_not_differentiable_is_a_type_error() -> None:
    def lagrangian(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(q.numpy()).sum(dim=(-2, -1)) + _kinetic(qdot)

    with pytest.raises(TypeError, match="L could not be evaluated and differentiated"):
        check_autodiff(lagrangian, *_states(torch.float64))


def test_dtype_mismatch_message() -> None:
    net = nn.Linear(6, 1)
    assert dtype_mismatch(net, torch.float64) is not None
    assert dtype_mismatch(net, torch.float32) is None
    assert "module.to(torch.float64)" in dtype_mismatch(net.forward, torch.float64)
    q = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match="states are torch.float64 but"):
        check_autodiff(lambda a, b: net(torch.cat([a, b], -1))[:, 0], q, q, q[:, 0])


class TestTimeRule:
    def test_two_arguments(self) -> None:
        assert not accepts_time(lambda q, qdot: q, 2)

    def test_required_third_argument_gets_time(self) -> None:
        assert accepts_time(lambda q, qdot, s: q, 2)

    @pytest.mark.parametrize("name", ["t", "time", "t0", "tau", "T"])
    def test_defaulted_time_name_gets_time(self, name: str) -> None:
        ns: dict = {}
        exec(f"def L(q, qdot, {name}=0.0): return q", ns)
        assert accepts_time(ns["L"], 2)

    def test_defaulted_parameter_keeps_its_default(self) -> None:
        def lagrangian(q: torch.Tensor, qdot: torch.Tensor, k: float = 4.0) -> torch.Tensor:
            return k * q.sum(-1)

        assert not accepts_time(lagrangian, 2)
        f = with_time(lagrangian, 2)
        assert float(f(torch.ones(1, 1), torch.ones(1, 1), torch.full((1,), 7.0))) == 4.0

    def test_star_args_get_time(self) -> None:
        assert accepts_time(lambda *a: a[0], 2)

    def test_module_forward(self) -> None:
        class M(nn.Module):
            def forward(
                self, q: torch.Tensor, qdot: torch.Tensor, scale: float = 2.0
            ) -> torch.Tensor:
                return scale * q.sum(-1)

        assert not accepts_time(M(), 2)

    def test_too_few_arguments(self) -> None:
        with pytest.raises(TypeError, match="at least 2 positional arguments"):
            accepts_time(lambda q: q, 2)


class _Locked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 1)
        self.lock = threading.Lock()

    def forward(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        return self.lin(q)[:, 0] + (qdot**2).sum(-1)


def test_cast_of_a_module_holding_a_lock_shares_the_lock_and_leaves_the_module_untouched() -> None:
    m = _Locked()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    cast = cast_callable(m, torch.float64)
    q = torch.randn(5, 3, dtype=torch.float64)
    out = cast(q, q)
    assert out.dtype == torch.float64 and out.shape == (5,)
    expected = m.lin.weight.double() @ q.T + m.lin.bias.double()
    torch.testing.assert_close(out - (q**2).sum(-1), expected[0])
    assert cast.lock is m.lock  # what cannot be copied is shared
    assert all(v.dtype == torch.float32 for v in m.state_dict().values())
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert not accepts_time(cast, 2)


def test_float32_only_function_is_probed_in_float32() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))

    def good(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        return _kinetic(qdot) - net(q).sum(dim=(-2, -1))

    def lost(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        return _kinetic(qdot) - net(q.detach()).sum(dim=(-2, -1))

    states = _states(torch.float32)
    check_autodiff(good, *states)
    with pytest.raises(GradientMismatchError, match="with respect to q"):
        check_autodiff(lost, *states)


def test_cast_a_method_of_a_module() -> None:
    class Owner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(3, 1)

        def lagrangian(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
            return self.lin(q)[:, 0] + (qdot**2).sum(-1)

    owner = Owner()
    cast = cast_callable(owner.lagrangian, torch.float64)
    q = torch.randn(2, 3, dtype=torch.float64)
    assert cast(q, q).dtype == torch.float64
    assert owner.lin.weight.dtype == torch.float32

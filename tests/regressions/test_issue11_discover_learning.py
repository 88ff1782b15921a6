"""Issue 11, items 3 and 19 (discovery) and the sweep over ``symnet.learning``.

Item 3: a Lagrangian or Hamiltonian whose gradient misses part of its value
(``torch.no_grad()``, ``.detach()``) made ``discover`` report symmetries that
the values plainly refute; now a clear error, and an independent finite
difference test of the values backs every returned finding. Item 19: every
option of the discovery functions is validated, with errors naming it. The
sweep applies the same checks to ``symnet.learning``.
"""

from __future__ import annotations

import importlib
import threading

import numpy as np
import pytest
import torch
from torch import nn

from symnet.learning import ChargeLedger, ParamSlice, check_training, find_symmetries
from symnet.noether import check_charges, discover, discover_hamiltonian
from symnet.systems import TwoBodySpring

# ---------------------------------------------------------------- fixtures


def _states(n: int = 48, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, 2, 3, generator=g, dtype=torch.float64)
    v = torch.randn(n, 2, 3, generator=g, dtype=torch.float64)
    return q, v


def _kinetic(v: torch.Tensor) -> torch.Tensor:
    return 0.5 * (v * v).sum((-1, -2))


def lag_no_grad(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    """``T + |q|^2 / 2`` with the potential invisible to autodiff: not translation invariant."""
    with torch.no_grad():
        V = -0.5 * (q * q).sum((-1, -2))
    return _kinetic(qdot) - V


def lag_detached(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    qd = q.detach()
    return _kinetic(qdot) + 0.5 * (qd * qd).sum((-1, -2))


def lag_spring(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    r = q[:, 0] - q[:, 1]
    return _kinetic(qdot) - 0.5 * (r * r).sum(-1)


def ham_detached(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    qd = q.detach()
    return 0.5 * (p * p).sum((-1, -2)) + 0.5 * (qd * qd).sum((-1, -2))


def ham_spring(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    r = q[:, 0] - q[:, 1]
    return 0.5 * (p * p).sum((-1, -2)) + 0.5 * (r * r).sum(-1)


def _no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the autodiff probe off, to exercise the finite-difference backstop alone."""
    for name in ("discovery.lagrangian", "discovery.hamiltonian", "charge_checker"):
        module = importlib.import_module(f"symnet.noether.{name}")
        monkeypatch.setattr(module, "check_autodiff", lambda *a, **k: None)


# ---------------------------------------------------------------- item 3: discovery


@pytest.mark.parametrize("lag", [lag_no_grad, lag_detached])
def test_item3_discover_rejects_lost_gradient(lag) -> None:
    q, v = _states()
    with pytest.raises(ValueError, match=r"L's autodiff derivative with respect to q"):
        discover(lag, q, v)


def test_item3_discover_hamiltonian_rejects_lost_gradient() -> None:
    q, p = _states(64)
    with pytest.raises(ValueError, match=r"H's autodiff derivative with respect to q"):
        discover_hamiltonian(ham_detached, q, p, "affine")


def test_item3_check_charges_rejects_lost_gradient() -> None:
    q, p = _states(64)
    found = discover_hamiltonian(ham_spring, q, p, "affine")
    with pytest.raises(ValueError, match=r"H's autodiff derivative with respect to q"):
        check_charges(ham_detached, list(found), q[:2], p[:2], dt=0.05, steps=4)


@pytest.mark.parametrize("lag", [lag_no_grad, lag_detached])
def test_item3_discover_finite_difference_backstop(monkeypatch, lag) -> None:
    """Without the probe, finite differences of L's values still refute the translations."""
    _no_probe(monkeypatch)
    q, v = _states()
    with pytest.raises(ValueError, match=r"finite differences of L's values refute"):
        discover(lag, q, v)


def test_item3_discover_hamiltonian_finite_difference_backstop(monkeypatch) -> None:
    _no_probe(monkeypatch)
    q, p = _states(64)
    with pytest.raises(ValueError, match=r"finite differences of H's values refute"):
        discover_hamiltonian(ham_detached, q, p, "affine")


def test_item3_check_charges_finite_difference_backstop(monkeypatch) -> None:
    q, p = _states(64)
    found = discover_hamiltonian(ham_spring, q, p, "affine")
    _no_probe(monkeypatch)
    with pytest.raises(ValueError, match=r"finite differences of H's values refute"):
        check_charges(ham_detached, list(found), q[:2], p[:2], dt=0.05, steps=4)


def test_item3_valid_discovery_still_passes() -> None:
    """The valid direction: exact and approximate symmetries pass the finite-difference test."""
    q, v = _states()
    found = discover(lag_spring, q, v)
    names = ["translation_x", "translation_y", "translation_z"]
    assert found.names == [*names, "rotation_x", "rotation_y", "rotation_z", "time"]

    def lag_almost(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        return lag_spring(q, qdot) - 1e-4 * (q[..., 0] ** 2).sum(-1)

    approx = discover(lag_almost, q, v)
    assert "rotation_z" in approx.names and approx.relative["rotation_z"] > 1e-8
    charges = discover_hamiltonian(ham_spring, q, v, "affine")
    assert charges.names[:3] == ["P_x", "P_y", "P_z"]
    report = check_charges(ham_spring, list(charges), q[:2], v[:2], dt=0.05, steps=4)
    assert set(report.verdicts.values()) == {"conserved"}

    def ham_trap(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return 0.5 * (p * p).sum((-1, -2)) + 0.5 * (q * q).sum((-1, -2))

    # a charge that is not conserved is reported broken, not refused: values and
    # gradients agree that it changes
    momenta = [c for c in charges if c.name.startswith("P_")]
    report = check_charges(ham_trap, momenta, q[:2], v[:2], dt=0.05, steps=4)
    assert set(report.verdicts.values()) == {"broken"}


def test_item3_discover_boundary_term_counts() -> None:
    """A quasi-symmetry passes the finite-difference test through its boundary term."""
    from symnet.groups import Boost

    q, v = _states()
    boost = Boost(3, masses=torch.ones(2, dtype=torch.float64)).generators((2, 3))[0]
    found = discover(lag_spring, q, v, [boost], time=False)
    assert found.names == [boost.name]


# ---------------------------------------------------------------- item 19: options


GOOD = lag_spring


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"t": float("nan")}, "t"),
        ({"t": float("inf")}, "t"),
        ({"t": True}, "t"),
        ({"t": "0"}, "t"),
        ({"threshold": True}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": -0.1}, "threshold"),
        ({"max_relative": True}, "max_relative"),
        ({"max_relative": -0.1}, "max_relative"),
        ({"min_gap": True}, "min_gap"),
        ({"min_gap": float("inf")}, "min_gap"),
        ({"min_gap": float("nan")}, "min_gap"),
        ({"min_gap": "10"}, "min_gap"),
        ({"time": 1}, "time"),
        ({"particlewise": "yes"}, "particlewise"),
        ({"dtype": torch.int64}, "dtype"),
        ({"dtype": "float64"}, "dtype"),
    ],
)
def test_item19_discover_rejects_bad_options(kwargs, name) -> None:
    q, v = _states()
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        discover(GOOD, q, v, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"t": float("nan")}, "t"),
        ({"t": torch.tensor(float("inf"))}, "t"),
        ({"threshold": False}, "threshold"),
        ({"max_relative": float("nan")}, "max_relative"),
        ({"min_gap": True}, "min_gap"),
        ({"dtype": torch.float16}, "dtype"),
    ],
)
def test_item19_discover_hamiltonian_rejects_bad_options(kwargs, name) -> None:
    q, p = _states()
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        discover_hamiltonian(ham_spring, q, p, "affine", **kwargs)


def test_item19_discover_rejects_nan_states() -> None:
    q, v = _states()
    q[3, 1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"\bq\b contains NaN"):
        discover(GOOD, q, v)
    q, v = _states()
    v[0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"\bp\b contains inf"):
        discover_hamiltonian(ham_spring, q, v, "affine")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"dt": float("inf")}, "dt"),
        ({"dt": float("nan")}, "dt"),
        ({"dt": True}, "dt"),
        ({"dt": -0.1}, "dt"),
        ({"steps": True}, "steps"),
        ({"steps": 1}, "steps"),
        ({"steps": 4.0}, "steps"),
        ({"method": 3}, "method"),
        ({"thresholds": 1e-3}, "thresholds"),
    ],
)
def test_item19_check_charges_rejects_bad_options(kwargs, name) -> None:
    q, p = _states(64)
    found = discover_hamiltonian(ham_spring, q, p, "affine")
    args = {"dt": 0.05, "steps": 4, **kwargs}
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        check_charges(ham_spring, list(found), q[:2], p[:2], **args)


def test_item19_check_charges_states_and_integer_steps() -> None:
    q, p = _states(64)
    found = discover_hamiltonian(ham_spring, q, p, "affine")
    bad = q[:2].clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"\bq0\b contains NaN"):
        check_charges(ham_spring, list(found), bad, p[:2], dt=0.05, steps=4)
    with pytest.raises(TypeError, match=r"\bcharges\b"):
        check_charges(ham_spring, [lambda q, p: q.sum()], q[:2], p[:2], dt=0.05, steps=4)
    # any integer type is an integer
    report = check_charges(ham_spring, list(found), q[:2], p[:2], dt=0.05, steps=np.int64(4))
    assert report.steps == 4 and isinstance(report.steps, int)


def test_item19_discover_does_not_modify_inputs() -> None:
    q, v = _states()
    q0, v0 = q.clone(), v.clone()
    spring = TwoBodySpring()
    discover(spring.lagrangian, q, v)
    assert torch.equal(q, q0) and torch.equal(v, v0)


# ---------------------------------------------------------------- sweep: symnet.learning


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(8, 3, generator=g), torch.randn(8, 2, generator=g)


def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((out - y) ** 2).mean()


def loss_no_grad(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return mse(out, y)


def loss_detached(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return mse(out.detach(), y) + 0.0 * out.sum()


@pytest.mark.parametrize("loss", [loss_no_grad, loss_detached])
def test_item3_find_symmetries_rejects_lost_gradient(loss) -> None:
    with pytest.raises(ValueError, match=r"loss_fn"):
        find_symmetries(_net(), loss, _batch())


@pytest.mark.parametrize("loss", [loss_no_grad, loss_detached])
def test_item3_check_training_rejects_lost_gradient(loss) -> None:
    net = _net()
    syms = find_symmetries(net, mse, _batch())
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"loss_fn"):
        check_training(net, loss, _batch(), opt, steps=3, symmetries=syms)


def test_item3_ledger_does_not_pretend_with_zero_gradients() -> None:
    """A training loop whose loss has no gradient tests nothing: no verdict 'matches'."""
    net = _net().double()
    x, y = (t.double() for t in _batch())
    syms = find_symmetries(net, mse, (x, y))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, weight_decay=1e-3)
    with ChargeLedger(net, syms, opt) as ledger:
        for _ in range(3):
            opt.zero_grad()
            loss_detached(net(x), y).backward()
            opt.step()
            ledger.record()
    report = ledger.report()
    assert set(report.verdicts.values()) == {"no prediction"}
    assert "gradient was zero" in str(report)
    assert not report.all_match


@pytest.mark.parametrize(
    "loss",
    [lambda o, y: mse(o, y) * float("nan"), lambda o, y: mse(o, y) + float("inf")],
    ids=["nan", "inf"],
)
def test_item3_learning_rejects_non_finite_loss(loss) -> None:
    net = _net()
    with pytest.raises(ValueError, match=r"loss_fn returned (NaN|inf)"):
        find_symmetries(net, loss, _batch())
    syms = find_symmetries(net, mse, _batch())
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"loss_fn returned (NaN|inf)"):
        check_training(net, loss, _batch(), opt, steps=2, symmetries=syms)


class _Doubler(nn.Module):
    """Multiplies its input in place: a model that writes to its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(2.0)
        return self.fc(x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_item3_find_symmetries_modifies_nothing(dtype) -> None:
    model = _Doubler().to(dtype)
    x, y = (t.to(dtype) for t in _batch())
    x0, y0 = x.clone(), y.clone()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    find_symmetries(model, mse, (x, y))
    assert torch.equal(x, x0) and torch.equal(y, y0)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    check_training(model, mse, (x, y), opt, steps=2)
    assert torch.equal(x, x0) and torch.equal(y, y0)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


class _HiddenFloat32(nn.Module):
    """Holds a float32 tensor that is neither a parameter nor a buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.proj = torch.randn(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) @ self.proj


def test_item3_learning_dtype_mismatch_is_explained() -> None:
    model = _HiddenFloat32()
    with pytest.raises(TypeError, match=r"float64.*register_buffer"):
        find_symmetries(model, mse, _batch())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"float64.*register_buffer"):
        check_training(model, mse, _batch(), opt, steps=2, symmetries=[])


class _Locked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 2)
        self.lock = threading.Lock()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def test_item3_learning_accepts_non_deep_copyable_model() -> None:
    model = _Locked()
    found = find_symmetries(model, mse, _batch())
    assert len(found) == 4
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    report = check_training(model, mse, _batch(), opt, steps=3)
    assert report.all_match
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"tol": True}, "tol"),
        ({"tol": float("inf")}, "tol"),
        ({"tol": -1e-9}, "tol"),
        ({"rng": 1.5}, "rng"),
        ({"rng": True}, "rng"),
        ({"softmax": "no"}, "softmax"),
    ],
)
def test_item19_find_symmetries_rejects_bad_options(kwargs, name) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        find_symmetries(_net(), mse, _batch(), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": -2}, "steps"),
        ({"steps": True}, "steps"),
        ({"steps": 2.0}, "steps"),
        ({"rtol": -1.0}, "rtol"),
        ({"rtol": float("nan")}, "rtol"),
        ({"rtol": True}, "rtol"),
        ({"tol": float("nan")}, "tol"),
        ({"copy": "no"}, "copy"),
        ({"dtype": torch.int64}, "dtype"),
    ],
)
def test_item19_check_training_rejects_bad_options(kwargs, name) -> None:
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    args = {"steps": 2, **kwargs}
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        check_training(net, mse, _batch(), opt, **args)


def test_item19_check_training_accepts_numpy_integer_steps() -> None:
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    report = check_training(net, mse, _batch(), opt, steps=np.int64(3))
    assert report.steps == 3 and report.all_match


def test_item19_ledger_rejects_bad_options() -> None:
    net = _net()
    syms = find_symmetries(net, mse, _batch())
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"\bauto_record\b"):
        ChargeLedger(net, syms, opt, auto_record="yes")
    with ChargeLedger(net, syms, opt) as ledger:
        for bad in (-1.0, float("nan"), True):
            with pytest.raises((TypeError, ValueError), match=r"\brtol\b"):
                ledger.report(rtol=bad)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"sign": True}, "sign"), ({"block": True}, "block"), ({"block": 2.0}, "block"),
     ({"axis": True}, "axis"), ({"axis": 0.0}, "axis")],
)  # fmt: skip
def test_item19_param_slice_rejects_bad_options(kwargs, name) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        ParamSlice("fc.weight", **kwargs)


@pytest.mark.parametrize("loss", [loss_no_grad, loss_detached])
def test_item3_lie_derivative_rejects_lost_gradient(loss) -> None:
    net = _net()
    sym = find_symmetries(net, mse, _batch())[0]
    assert sym.lie_derivative(net, mse, _batch()) < 1e-12
    with pytest.raises(ValueError, match=r"loss_fn"):
        sym.lie_derivative(net, loss, _batch())


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"dtype": torch.int64}, "dtype"), ({"rng": 0.5}, "rng")]
)
def test_item19_lie_derivative_rejects_bad_options(kwargs, name) -> None:
    net = _net()
    sym = find_symmetries(net, mse, _batch())[0]
    with pytest.raises(TypeError, match=rf"\b{name}\b"):
        sym.lie_derivative(net, mse, _batch(), **kwargs)


def test_item19_check_training_rejects_zero_steps_with_symmetries() -> None:
    """``steps=0`` trains nothing: an error, not a report of vacuous matches."""
    net = _net()
    syms = find_symmetries(net, mse, _batch())
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"\bsteps\b"):
        check_training(net, mse, _batch(), opt, steps=0, symmetries=syms)


_MASS = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
_SPIN = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)


def _anisotropic(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    """Anisotropic masses, isotropic potential: rotations are not symmetries."""
    return 0.5 * (qdot * qdot * _MASS).sum((-1, -2)) - 0.5 * (q * q).sum((-1, -2))


def _spin_detached(q: torch.Tensor) -> torch.Tensor:
    """A rotation about z with its derivative lost: its prolongation comes out zero."""
    return q.detach() @ _SPIN.T


def _spin(q: torch.Tensor) -> torch.Tensor:
    return q @ _SPIN.T


def _radius_detached(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``|q_0|^2`` invisible to autodiff: looks constant, is not conserved by the spring."""
    return (q.detach()[:, 0] ** 2).sum(-1)


@pytest.mark.parametrize("probe", [True, False], ids=["probe", "backstop"])
def test_item3_discover_rejects_custom_candidate_with_lost_gradient(monkeypatch, probe) -> None:
    """A custom field whose derivative is lost is not reported as a symmetry."""
    from symnet.groups import Generator

    q, v = _states()
    honest = Generator("spin", _spin)
    assert discover(_anisotropic, q, v, ["affine", honest], time=False).names == []
    if not probe:
        _no_probe(monkeypatch)
    spin = Generator("spin", _spin_detached)
    with pytest.raises(ValueError, match=r"candidate 'spin'|refute the symmetry 'spin'"):
        discover(_anisotropic, q, v, ["affine", spin], time=False)


@pytest.mark.parametrize("probe", [True, False], ids=["probe", "backstop"])
def test_item3_discover_hamiltonian_rejects_candidate_with_lost_gradient(
    monkeypatch, probe
) -> None:
    q, p = _states(64)
    honest = ("r2", lambda q, p: (q[:, 0] ** 2).sum(-1))
    assert "charge_1" not in discover_hamiltonian(ham_spring, q, p, ["affine", honest]).names
    if not probe:
        _no_probe(monkeypatch)
    with pytest.raises(ValueError, match=r"candidate 'r2'|refute that charge"):
        discover_hamiltonian(ham_spring, q, p, ["affine", ("r2", _radius_detached)])


class _ModuleLagrangian(nn.Module):
    """A float32 module: ``|qdot|^2 / 2 - w |r|^2`` with a parameter ``w``."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(0.5))

    def forward(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        r = q[:, 0] - q[:, 1]
        return _kinetic(qdot) - self.w * (r * r).sum(-1)


def test_item3_discover_leaves_module_untouched() -> None:
    L = _ModuleLagrangian()
    q, v = _states()
    found = discover(L, q, v)
    assert found.names[:3] == ["translation_x", "translation_y", "translation_z"]
    assert L.w.dtype == torch.float32 and float(L.w.detach()) == 0.5 and L.w.grad is None

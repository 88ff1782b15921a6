"""Devices: the checker, discovery, every model, training and the learning ledger.

Same pattern as test_devices.py: the same computation on the CPU and on ``device``; the
outputs live on the input's device and equal the CPU results to round-off.
"""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import to_device
from test_devices import F64, _states, same, spring_hamiltonian, spring_lagrangian
from torch import nn

import symnet.models as sm
import symnet.noether as nt
from symnet.groups import Rotation, TimeShift, Translation
from symnet.learning import check_training, find_symmetries

E2T = Translation(2) * Rotation(2) * TimeShift()


def _same_report(out, ref) -> None:
    assert out.verdicts == ref.verdicts
    assert [r.generator for r in out.rows] == [r.generator for r in ref.rows]
    for a, b in zip(out.rows, ref.rows, strict=True):
        for k in ("invariance_error", "finite_error", "drift", "drift_half", "balance_residual"):
            x, y = getattr(a, k), getattr(b, k)
            if x is not None and y is not None:
                assert abs(x - y) <= 1e-9 * max(1.0, abs(y)) + 1e-13, (a.generator, k, x, y)
    for name, c in ref.charges.items():
        assert torch.allclose(out.charges[name].cpu(), c, rtol=1e-9, atol=1e-12), name


def test_check_and_check_hamiltonian(device):
    q, v = _states()
    kw = dict(dt=0.01, steps=10)
    ref = nt.check(spring_lagrangian, E2T, q, v, **kw)
    out = nt.check(spring_lagrangian, E2T, q.to(device), v.to(device), **kw)
    assert set(ref.verdicts.values()) == {"conserved"}
    _same_report(out, ref)
    ref = nt.check_hamiltonian(spring_hamiltonian, E2T, q, v, **kw)
    out = nt.check_hamiltonian(spring_hamiltonian, E2T, q.to(device), v.to(device), **kw)
    _same_report(out, ref)
    # both directions: a pinned spring breaks translations on every device
    pinned = lambda q, v: spring_lagrangian(q, v) - q[:, 0].pow(2).sum(-1)  # noqa: E731
    out = nt.check(pinned, Translation(2), q.to(device), v.to(device), **kw)
    assert set(out.verdicts.values()) == {"broken"}


def test_discover(device):
    q, v = _states(B=16)
    ref = nt.discover(spring_lagrangian, q, v)
    out = nt.discover(spring_lagrangian, q.to(device), v.to(device))
    assert [g.name for g in out] == [g.name for g in ref] and len(ref) >= 3
    same(out.singular_values, ref.singular_values, device, rtol=1e-8)
    x = q[:, :, :].to(device)
    for g, h in zip(out, ref, strict=True):  # the generators found act on device tensors
        same(g.xi(x), h.xi(q), device, rtol=1e-6)


MODELS = {
    "LNN": lambda: sm.LNN(config_shape=(3, 2), hidden=8, structured=True, mass="constant"),
    "HNN": lambda: sm.HNN(config_shape=(3, 2), hidden=8),
    "PortHNN": lambda: sm.PortHNN(config_shape=(3, 2), hidden=8, forcing="mlp"),
    "Baseline": lambda: sm.Baseline(config_shape=(3, 2), hidden=8, periodic=True),
    "SymmetricLNN": lambda: sm.SymmetricLNN(3, 2, hidden=8),
    "SymmetricHNN": lambda: sm.SymmetricHNN(3, 2, hidden=8, separable=False),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_forward_and_train(name, device):
    torch.manual_seed(0)
    model = MODELS[name]().double()
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(8, 3, 2, generator=gen, dtype=F64)
    v = torch.randn(8, 3, 2, generator=gen, dtype=F64)
    moved = copy.deepcopy(model).to(device)
    t = torch.zeros(8, dtype=F64)
    same(moved(q.to(device), v.to(device), t.to(device)), model(q, v, t), device, rtol=1e-9)
    data = {"q": q, "qdot": v, "qddot": -q, "p": v, "dq_dt": v, "dp_dt": -q}
    kw = dict(steps=3, batch_size=4, rng=0, progress=False)
    ref = sm.train(model, data, **kw)
    out = sm.train(moved, to_device(data, device), **kw)
    assert out.train_loss == pytest.approx(ref.train_loss, rel=1e-8)
    for a, b in zip(moved.parameters(), model.parameters(), strict=True):
        same(a, b, device, rtol=1e-8)


def test_learning_ledger(device):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)).double()
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(12, 4, generator=g, dtype=F64),
                torch.randint(0, 3, (12,), generator=g)) for _ in range(5)]  # fmt: skip
    loss = nn.CrossEntropyLoss()
    found = find_symmetries(model, loss, batches[0])
    moved = copy.deepcopy(model).to(device)
    found_dev = find_symmetries(moved, loss, to_device(batches[0], device))
    assert [s.name for s in found_dev] == [s.name for s in found] and len(found) > 0

    def run(m, bs):
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        return check_training(m, loss, lambda i: bs[i], opt, 5, found)

    ref, out = run(model, batches), run(moved, to_device(batches, device))
    assert [r.family for r in out.rows] == [r.family for r in ref.rows]
    assert [r.verdict for r in out.rows] == [r.verdict for r in ref.rows]
    assert all(r.verdict == "matches recursion" for r in out.rows), str(out)
    for a, b in zip(out.rows, ref.rows, strict=True):
        assert a.drift == pytest.approx(b.drift, rel=1e-6, abs=1e-12)
    for k, c in ref.charges.items():
        assert torch.allclose(out.charges[k].cpu(), c, rtol=1e-9, atol=1e-12), k
    for a, b in zip(moved.parameters(), model.parameters(), strict=True):
        same(a, b, device, rtol=1e-9)

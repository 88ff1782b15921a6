"""check_training and ChargeLedger: charges against the exact SGD recursions.

REFERENCES.md section 2: the recursions hold to round-off for any minibatch.
Here: 200 steps on random minibatches, float64, every family within 1e-10
relative of the open-loop prediction; the closed forms of REFERENCES.md are
also checked directly on the observed charges, independently of the ledger's
own recursion engine.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from symnet.learning import ChargeLedger, check_training, find_symmetries

from . import _models as M

SETTINGS = {
    "plain": dict(lr=0.1),
    "weight_decay": dict(lr=0.1, weight_decay=1e-2),
    "momentum+wd": dict(lr=0.05, momentum=0.9, weight_decay=1e-2),
    "dampening+wd": dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=5e-3),
    "nesterov+wd": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-3),
}


@pytest.fixture(scope="module")
def deep():
    model = M.deep_mlp()
    found = find_symmetries(model, nn.CrossEntropyLoss(), M.minibatches()(0))
    assert not found.rejected and all(s.exact for s in found)
    return model, found


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETTINGS))
def test_charges_match_recursions_over_200_steps(deep, name):
    model, found = deep
    opt = torch.optim.SGD(model.parameters(), **SETTINGS[name])
    report = check_training(model, nn.CrossEntropyLoss(), M.minibatches(), opt, 200, found)
    assert report.steps == 200 and report.dtype == "float64"
    assert {r.kind for r in report.rows} == {"scale", "translation", "rescale"}
    for row in report.rows:
        assert row.verdict == "matches recursion", (row.family, row.error, row.reason)
        assert row.error < 1e-10, row
        assert row.residual < 1e-12, row
        if row.kind != "translation" or SETTINGS[name].get("weight_decay"):
            if not (row.kind == "translation" and "BatchNorm" in row.family and name == "plain"):
                assert row.drift > 1e-4, row  # the charges really move: a real test


def test_translation_closed_forms_on_observed_charges(deep):
    """<theta_A,1> = (1 - eta lambda)^k s_0; heavy ball: s_{k+1} = (1+b-eta l) s_k - b s_{k-1}."""
    model, found = deep
    eta, lam, beta = 0.1, 1e-2, 0.9
    opt = torch.optim.SGD(model.parameters(), lr=eta, weight_decay=lam)
    rep = check_training(model, nn.CrossEntropyLoss(), M.minibatches(), opt, 60, found)
    s = rep.charges["translation 5.weight columns -> softmax (8 units)"]
    k = torch.arange(61, dtype=torch.float64)[:, None]
    assert torch.allclose(s, (1 - eta * lam) ** k * s[0], rtol=1e-12, atol=1e-14)
    opt = torch.optim.SGD(model.parameters(), lr=eta, momentum=beta, weight_decay=lam)
    rep = check_training(model, nn.CrossEntropyLoss(), M.minibatches(), opt, 60, found)
    s = rep.charges["translation 5.bias -> softmax"][:, 0]
    assert abs(s[1] - (1 - eta * lam) * s[0]) < 1e-13 * abs(s[0])
    pred = (1 + beta - eta * lam) * s[1:-1] - beta * s[:-2]
    assert torch.allclose(s[2:], pred, rtol=1e-11, atol=1e-14)


def charge(w1, b1, w2, sign=-1.0):
    """|A1|^2 - |A2|^2 of hidden unit 2: A1 = (w1[2, :], b1[2]), A2 = w2[:, 2]."""
    w1, b1, w2 = w1.detach(), b1.detach(), w2.detach()
    return float(w1[2].square().sum() + b1[2].square() + sign * w2[:, 2].square().sum())


def test_quadratic_closed_form_in_a_manual_loop():
    """D_{k+1} = (1 - eta lambda)^2 D_k + eta^2 (|g_A1|^2 - |g_A2|^2), checked by hand."""
    model = M.deep_mlp().double()
    found = find_symmetries(model, nn.CrossEntropyLoss(), M.minibatches()(0))
    eta, lam = 0.1, 1e-2
    opt = torch.optim.SGD(model.parameters(), lr=eta, weight_decay=lam)
    w1, b1, w2 = model[3].weight, model[3].bias, model[5].weight
    batches = M.minibatches()
    err = 0.0
    with ChargeLedger(model, found, opt) as ledger:
        for k in range(40):
            x, y = batches(k)
            d0 = charge(w1, b1, w2)
            opt.zero_grad()
            nn.functional.cross_entropy(model(x.double()), y).backward()
            g = charge(w1.grad, b1.grad, w2.grad)
            opt.step()
            ledger.record()
            d1 = charge(w1, b1, w2)
            scale = charge(w1, b1, w2, sign=1.0)
            err = max(err, abs(d1 - ((1 - eta * lam) ** 2 * d0 + eta**2 * g)) / scale)
    assert err < 1e-13
    report = ledger.report()
    row = report.row("rescale 3/5 (8 units)")
    assert row.verdict == "matches recursion" and row.error < 1e-12
    assert report.charges["rescale 3/5 (8 units)"].shape == (41, 8)


def test_ledger_with_lr_schedule_param_groups_and_existing_buffers():
    model = M.deep_mlp().double()
    found = find_symmetries(model, nn.CrossEntropyLoss(), M.minibatches()(0))
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.startswith("5.")]},
        {"params": [model[5].weight], "weight_decay": 0.0},  # mixed with 3/5's other slices
        {"params": [model[5].bias]},
    ]
    opt = torch.optim.SGD(groups, lr=0.05, momentum=0.8, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)
    batches = M.minibatches()

    def train(steps, ledger=None):
        for k in range(steps):
            x, y = batches(k)
            opt.zero_grad()
            nn.functional.cross_entropy(model(x.double()), y).backward()
            opt.step()
            schedule.step()

    train(5)  # momentum buffers exist before the ledger starts
    with ChargeLedger(model, found, opt, auto_record=True) as ledger:
        train(30)
    report = ledger.report()
    assert ledger.steps == 30
    for row in report.rows:
        if row.family == "rescale 3/5 (8 units)":
            assert row.verdict == "no prediction" and "param groups" in row.reason
        else:
            assert row.verdict == "matches recursion" and row.error < 1e-11, row


@pytest.mark.parametrize("cls", ["Adam", "AdamW", "RMSprop", "Adagrad"])
def test_adaptive_optimizers_get_no_prediction(cls):
    model = M.bn_mlp()
    opt = getattr(torch.optim, cls)(model.parameters(), lr=1e-2)
    report = check_training(model, nn.CrossEntropyLoss(), [M.classification()], opt, 8)
    assert set(report.verdicts.values()) == {"no prediction"}
    assert all(r.error is None and "kinetic symmetry breaking" in r.reason for r in report.rows)
    rescale = report.row("rescale 1/3 (8 units)")
    assert rescale.drift > 1e-3 and rescale.residual < 1e-12  # exact symmetry, drifting charge
    assert "no prediction" in str(report)


def test_unknown_optimizer_class_is_handled():
    class SignDescent(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad.sign(), alpha=-group["lr"])

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    report = check_training(net, nn.MSELoss(), M.regression(), SignDescent(net.parameters()), 5)
    assert report.verdicts == {"rescale 0/2 (4 units)": "no prediction"}
    assert "no recursion for SignDescent" in report.rows[0].reason
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        check_training(net, nn.MSELoss(), M.regression(), object(), 5)


def test_broken_and_approximate_symmetries_deviate():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 3))
    found = find_symmetries(net, M.z_loss, M.classification())
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    report = check_training(net, M.z_loss, [M.classification()], opt, 20, found.rejected)
    assert set(report.verdicts.values()) == {"deviates"}
    assert all("residual" in r.reason and r.residual > 1e-3 for r in report.rows)
    # BatchNorm's default eps makes the scale symmetry approximate: deviates, and says why
    model = M.bn_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    report = check_training(model, nn.CrossEntropyLoss(), [M.classification()], opt, 20)
    row = report.row("scale 0 -> 1 (BatchNorm1d, 8 units)")
    assert row.verdict == "deviates" and "approximate" in row.reason and "eps" in row.reason
    others = [r for r in report.rows if r is not row]
    assert all(r.verdict == "matches recursion" for r in others)


def test_copy_true_leaves_model_and_optimizer_untouched():
    model = M.bn_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    report = check_training(model, nn.CrossEntropyLoss(), [M.classification()], opt, 5)
    assert report.steps == 5
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert next(model.parameters()).dtype == torch.float32
    assert not opt.state and all(p.grad is None for p in model.parameters())
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups


def test_copy_false_trains_in_place_in_the_models_dtype():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))  # float32
    w0 = net[0].weight.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    report = check_training(net, nn.CrossEntropyLoss(), M.minibatches(d=5, classes=3), opt, 50,
                            copy=False)  # fmt: skip
    assert not torch.equal(w0, net[0].weight) and opt.state
    assert report.dtype == "float32" and report.rtol == 1e-4
    assert report.all_match, str(report)
    with pytest.raises(ValueError, match="own dtype"):
        check_training(net, nn.CrossEntropyLoss(), [M.classification()], opt, 1, copy=False,
                       dtype=torch.float64)  # fmt: skip


def test_maximize_and_carried_momentum_state():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.5, weight_decay=1e-2, maximize=True)
    report = check_training(net, nn.CrossEntropyLoss(), M.minibatches(d=5, classes=3), opt, 15)
    assert report.all_match, str(report)
    # an optimizer with momentum buffers already: the copy carries them on
    x, y = M.classification()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    report = check_training(net, nn.CrossEntropyLoss(), M.minibatches(d=5, classes=3), opt, 15)
    assert report.all_match, str(report)


def test_batches_forms():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    pair = M.regression()
    for batches in (pair, [pair, M.regression(seed=1)], lambda k: pair):
        assert check_training(net, nn.MSELoss(), batches, opt, 4).steps == 4
    with pytest.raises(ValueError, match="ran out after 2 steps"):
        check_training(net, nn.MSELoss(), iter([pair, pair]), opt, 4)
    with pytest.raises(TypeError, match="batches"):
        check_training(net, nn.MSELoss(), 3, opt, 4)


def test_bad_inputs_raise_clear_errors():
    x, y = M.regression()
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="no parameters"):
        check_training(nn.ReLU(), nn.MSELoss(), (x, y), opt, 3)
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scalar"):
        check_training(net, nn.MSELoss(reduction="none"), (x, y), opt, 3)
    found = find_symmetries(net, nn.MSELoss(), (x, y))
    with pytest.raises(ValueError, match="scalar"):
        check_training(net, nn.MSELoss(reduction="none"), (x, y), opt, 3, found)
    with pytest.raises(ValueError, match="steps"):
        check_training(net, nn.MSELoss(), (x, y), opt, -1)
    foreign = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="not parameters of the model"):
        check_training(net, nn.MSELoss(), (x, y), foreign, 3)


def test_ledger_misuse_is_caught():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    x, y = M.regression()
    found = find_symmetries(net, nn.MSELoss(), (x, y))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    ledger = ChargeLedger(net, found, opt)
    with pytest.raises(RuntimeError, match="must follow an optimizer.step"):
        ledger.record()
    for _ in range(2):
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        if _ == 0:
            opt.step()
        else:
            with pytest.raises(RuntimeError, match="without ledger.record"):
                opt.step()
    ledger.close()
    opt.step()  # the hooks are gone
    other = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="shape"):
        ChargeLedger(other, found, torch.optim.SGD(other.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="does not have"):
        ChargeLedger(nn.Sequential(nn.Linear(5, 4)), found, opt)
    with pytest.raises(TypeError, match="ParameterSymmetry"):
        ChargeLedger(net, ["rescale"], opt)


@pytest.mark.slow  # imports matplotlib and draws
def test_report_table_json_and_plot(tmp_path):
    model = M.bn_mlp(eps=1e-300)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    report = check_training(model, nn.CrossEntropyLoss(), M.minibatches(d=5, classes=3), opt, 10)
    assert report.all_match
    text = str(report)
    for word in ("family", "charge", "drift", "|obs - pred|", "verdict", "matches recursion"):
        assert word in text
    data = json.loads(report.to_json(tmp_path / "ledger.json"))
    assert data["schema"] == "symnet.learning.report/1" and data["steps"] == 10
    assert data["param_groups"][0]["momentum"] == 0.9
    assert json.loads((tmp_path / "ledger.json").read_text()) == data
    assert len(data["rows"]) == len(report.rows) and set(data["verdicts"]) == set(report.verdicts)
    png = report.plot(tmp_path / "ledger.png")
    assert png.is_file() and png.stat().st_size > 1000
    with pytest.raises(KeyError, match="rows"):
        report.row("nope")
    empty = check_training(model, nn.CrossEntropyLoss(), M.classification(), opt, 2, [])
    assert not empty.all_match and "no symmetries" in str(empty)
    with pytest.raises(ValueError, match="no symmetry families"):
        empty.plot(tmp_path / "empty.png")

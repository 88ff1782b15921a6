"""The charge ledger under data parallelism: DDP on 2 gloo processes against one process.

One spawn of 2 CPU processes runs every scenario (a training loop of our own
around ``DistributedDataParallel`` with a :class:`ChargeLedger`,
``check_training`` sharding its batches, a broken symmetry, a non-finite
loss on one rank); each rank returns its reports, and the test compares them
with each other and with the same calls in this (single) process. The other
tests need no second process: the ledger unwraps ``.module`` containers, and
keeps its records on the parameters' device without reading them back per
step.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from symnet import _distributed
from symnet.learning import ChargeLedger, check_training, find_symmetries
from tests._dist_helpers import run_ranks
from tests._host_reads import host_reads

from . import _models as M

F64 = torch.float64
N, STEPS = 23, 30  # odd: the ranks get 12 and 11 samples
TOL = 1e-10
SGD = dict(lr=0.05, momentum=0.9, weight_decay=1e-2)
SEEN: list[int] = []  # batch sizes the model saw in this process


class Net(nn.Module):
    """Linear - ReLU - Linear (a rescale symmetry per hidden unit), recording its batch sizes."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc1, self.fc2 = nn.Linear(5, 6), nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        SEEN.append(x.shape[0])
        return self.fc2(torch.relu(self.fc1(x)))


class Box(nn.Module):
    """A container holding nothing but ``.module`` (like DataParallel's wrapper)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = M.regression(n=N, d=5, out=3, seed=4)
    return x.double(), y.double()


def _ledger_loop() -> dict[str, Any]:
    """Our own loop: DDP (under a group) on this rank's rows, with a ledger; else the full batch."""
    net = Net().double()
    x, y = _data()
    found = find_symmetries(net, nn.MSELoss(), (x, y))
    weight = 1.0
    model: nn.Module = net
    if _distributed.active():
        model = nn.parallel.DistributedDataParallel(net)
        part = _distributed.shard(N)
        x, y = x[part], y[part]
        weight = x.shape[0] / N * _distributed.world_size()
    opt = torch.optim.SGD(net.parameters(), **SGD)
    with ChargeLedger(model, found, opt) as ledger:
        for _ in range(STEPS):
            opt.zero_grad()
            (nn.functional.mse_loss(model(x), y) * weight).backward()
            opt.step()
            ledger.record()
    report = ledger.report()
    params = [p.detach().clone() for p in net.parameters()]
    return {"report": report.to_dict(), "charges": report.charges,
            "predicted": report.predicted, "params": params}  # fmt: skip


def _check_training() -> dict[str, Any]:
    x, y = _data()
    net = Net().double()
    found = find_symmetries(net, nn.MSELoss(), (x, y))
    opt = torch.optim.SGD(net.parameters(), **SGD)
    SEEN.clear()
    rep = check_training(net, nn.MSELoss(), (x, y), opt, STEPS, found)
    return {"report": rep.to_dict(), "charges": rep.charges, "predicted": rep.predicted,
            "seen": list(SEEN)}  # fmt: skip


def _in_place() -> dict[str, Any]:
    """copy=False: our own DDP wrapper (under a group) is trained through, in place."""
    x, y = _data()
    net = Net().double()
    found = find_symmetries(net, nn.MSELoss(), (x, y))
    model = nn.parallel.DistributedDataParallel(net) if _distributed.active() else net
    opt = torch.optim.SGD(net.parameters(), **SGD)
    SEEN.clear()
    rep = check_training(model, nn.MSELoss(), (x, y), opt, STEPS, found, copy=False)
    params = [p.detach().clone() for p in net.parameters()]
    return {"report": rep.to_dict(), "charges": rep.charges, "params": params, "seen": list(SEEN)}


def _broken() -> dict[str, Any]:
    """z-loss breaks the softmax translations: the rejected ones must deviate."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 3)).double()
    x, y = M.classification(n=N, seed=2)
    found = find_symmetries(net, M.z_loss, (x.double(), y))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    rep = check_training(net, M.z_loss, (x.double(), y), opt, 10, found.rejected)
    return {"report": rep.to_dict(), "charges": rep.charges}


def _nan_on_last_row(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _data()
    if step == 3:
        x = x.clone()
        x[-1] = torch.nan  # on the last rank only
    return x, y


def _diverging() -> tuple[str, str] | None:
    net = Net().double()
    found = find_symmetries(net, nn.MSELoss(), _data())
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    try:
        check_training(net, nn.MSELoss(), _nan_on_last_row, opt, 6, found)
    except Exception as exc:  # every rank must raise
        return type(exc).__name__, str(exc)
    return None


def scenarios() -> dict[str, Any]:
    """Every scenario, as plain data (run on each rank, and in one process)."""
    out: dict[str, Any] = {"rank": _distributed.rank(), "world": _distributed.world_size()}
    out["loop"] = _ledger_loop()
    out["check"] = _check_training()
    out["in_place"] = _in_place()
    out["broken"] = _broken()
    out["diverging"] = _diverging()
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """The single-process results, then the 2-process ones (one spawn)."""
    assert not _distributed.active()
    one = scenarios()
    ranks = run_ranks(scenarios, 2, tmp_path_factory.mktemp("ddp_ledger"))
    return {"one": one, "ranks": ranks}


def _gap(a: dict[str, torch.Tensor | None], b: dict[str, torch.Tensor | None]) -> float:
    """Largest ``|a - b| / max |b|`` over families (both None counts as equal)."""
    assert a.keys() == b.keys()
    gaps = [0.0]
    for k in a:
        assert (a[k] is None) == (b[k] is None), k
        if a[k] is not None:
            gaps.append(float((a[k] - b[k]).abs().max() / b[k].abs().max()))
    return max(gaps)


def _same_verdicts(a: dict, b: dict) -> None:
    assert a["verdicts"] == b["verdicts"]
    for ra, rb in zip(a["rows"], b["rows"], strict=True):
        assert ra["family"] == rb["family"] and ra["verdict"] == rb["verdict"]
        assert ra["drift"] == pytest.approx(rb["drift"], rel=1e-8, abs=1e-14)


@pytest.mark.slow  # one spawn of 2 processes for all of them (a few seconds)
def test_every_rank_has_the_same_ledger(runs):
    zero, one = runs["ranks"]
    assert (zero["rank"], one["rank"], zero["world"]) == (0, 1, 2)
    for key in ("loop", "check", "in_place", "broken"):
        assert zero[key]["report"] == one[key]["report"], key  # bitwise: every float
        assert _gap(zero[key]["charges"], one[key]["charges"]) == 0.0, key
    assert all(
        torch.equal(a, b)
        for a, b in zip(zero["loop"]["params"], one["loop"]["params"], strict=True)
    )


@pytest.mark.slow
def test_ledger_in_own_ddp_loop_equals_one_process(runs):
    ref = runs["one"]["loop"]
    assert ref["report"]["verdicts"] == {"rescale fc1/fc2 (6 units)": "matches recursion"}
    assert ref["report"]["rows"][0]["drift"] > 1e-3  # the charges really move: weight decay
    for out in runs["ranks"]:
        loop = out["loop"]
        assert (
            max(
                float((a - b).abs().max())
                for a, b in zip(loop["params"], ref["params"], strict=True)
            )
            < TOL
        )
        # the charges are those of the synchronised parameters; the predictions use the
        # all-reduced gradients (local ones would predict other charges on each rank)
        assert _gap(loop["charges"], ref["charges"]) < TOL
        assert _gap(loop["predicted"], ref["predicted"]) < TOL
        _same_verdicts(loop["report"], ref["report"])
        assert loop["report"]["rows"][0]["error"] < TOL


@pytest.mark.slow
def test_check_training_shards_batches_and_equals_one_process(runs):
    ref = runs["one"]["check"]
    assert ref["seen"].count(N) >= STEPS
    for out, rows in zip(runs["ranks"], (12, 11), strict=True):  # really sharded
        assert out["check"]["seen"].count(rows) == STEPS, out["check"]["seen"]
    assert ref["report"]["verdicts"] == {"rescale fc1/fc2 (6 units)": "matches recursion"}
    for out in runs["ranks"]:
        assert _gap(out["check"]["charges"], ref["charges"]) < TOL
        assert _gap(out["check"]["predicted"], ref["predicted"]) < TOL
        _same_verdicts(out["check"]["report"], ref["report"])
    # the same run as our own DDP loop
    assert _gap(ref["charges"], runs["one"]["loop"]["charges"]) < TOL
    # copy=False through the user's own DDP wrapper: the same run, in place
    ref = runs["one"]["in_place"]
    for out, rows in zip(runs["ranks"], (12, 11), strict=True):
        mine = out["in_place"]
        assert mine["seen"].count(rows) == STEPS
        assert _gap(mine["charges"], runs["one"]["check"]["charges"]) < TOL
        _same_verdicts(mine["report"], ref["report"])
        gap = max(
            float((a - b).abs().max()) for a, b in zip(mine["params"], ref["params"], strict=True)
        )
        assert gap < TOL


@pytest.mark.slow
def test_broken_symmetry_is_flagged_on_every_rank(runs):
    ref = runs["one"]["broken"]["report"]
    assert set(ref["verdicts"].values()) == {"deviates"}
    for out in runs["ranks"]:
        rep = out["broken"]["report"]
        _same_verdicts(rep, ref)
        assert all("residual" in r["reason"] and r["residual"] > 1e-3 for r in rep["rows"])
        assert _gap(out["broken"]["charges"], runs["one"]["broken"]["charges"]) < TOL


@pytest.mark.slow
def test_non_finite_loss_on_one_rank_raises_on_every_rank(runs):
    kind, text = runs["one"]["diverging"]
    assert kind == "ValueError" and "NaN at step 3" in text
    zero, one = (out["diverging"] for out in runs["ranks"])
    assert zero is not None and one is not None  # nobody waits forever
    assert zero[0] == one[0] == "ValueError"
    assert "step 3 on another rank" in zero[1] and "step 3 on this rank" in one[1]


# ------------------------------------------------------------------ one process


def _train(model: nn.Module, net: nn.Module, steps: int = 12) -> dict[str, Any]:
    x, y = _data()
    found = find_symmetries(Net().double(), nn.MSELoss(), (x, y))
    opt = torch.optim.SGD(net.parameters(), **SGD)
    with ChargeLedger(model, found, opt, auto_record=True) as ledger:
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
    return ledger.report().to_dict()


@pytest.mark.parametrize("wrap", [Box, nn.DataParallel, lambda m: Box(Box(m))])
def test_wrapped_model_is_read_through_module(wrap):
    ref = _train(*(2 * [Net().double()]))
    net = Net().double()
    assert _train(wrap(net), net) == ref
    # check_training unwraps too, and leaves the user's wrapper and model alone
    x, y = _data()
    net = Net().double()
    before = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.SGD(net.parameters(), **SGD)
    a = check_training(net, nn.MSELoss(), (x, y), opt, 8)
    b = check_training(wrap(net), nn.MSELoss(), (x, y), opt, 8)
    assert a.to_dict() == b.to_dict() and a.all_match
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters(), strict=True))


def test_wrapper_names_are_used_when_the_symmetries_name_them():
    """Symmetries found on the container itself keep its names (no unwrapping needed)."""
    x, y = _data()
    box = Box(Net().double())
    found = find_symmetries(box, nn.MSELoss(), (x, y))
    assert {s.family.name for s in found} == {"rescale module.fc1/module.fc2 (6 units)"}
    opt = torch.optim.SGD(box.parameters(), **SGD)
    assert check_training(box, nn.MSELoss(), (x, y), opt, 5, found).all_match
    # a container that owns more than its .module is not a wrapper: names are not stripped
    other = Box(Net().double())
    other.extra = nn.Linear(2, 2).double()
    plain = find_symmetries(Net().double(), nn.MSELoss(), (x, y))
    with pytest.raises(ValueError, match="'fc1.weight', which Box does not have"):
        ChargeLedger(other, plain, torch.optim.SGD(other.parameters(), lr=0.1))


def test_non_finite_loss_is_found_at_its_step_without_per_step_reads():
    x, y = _data()
    bad = y.clone()
    bad[0, 0] = torch.inf

    def batches(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return x, (bad if step == 70 else y)  # past the first block of 64 steps

    net = Net().double()
    found = find_symmetries(net, nn.MSELoss(), (x, y))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="returned inf at step 70 "):
        check_training(net, nn.MSELoss(), batches, opt, 80, found)
    with pytest.raises(ValueError, match="returned inf at step 70 "):
        check_training(net, nn.MSELoss(), batches, opt, 71, found)  # the last, partial block


def test_ledger_records_on_the_device_without_host_reads(device):
    x, y = (t.to(device) for t in _data())
    net = Net().double().to(device)
    found = find_symmetries(net, nn.MSELoss(), (x, y))
    opt = torch.optim.SGD(net.parameters(), **SGD)
    counts = []
    ledger = ChargeLedger(net, found, opt, auto_record=True)
    for steps in (3, 9):
        with host_reads() as reads:
            for _ in range(steps):
                opt.zero_grad()
                nn.functional.mse_loss(net(x), y).backward()
                opt.step()
        counts.append(reads.count)
    assert counts == [0, 0]  # nothing read back per step (the loop itself reads nothing)
    tr = ledger.tracks[0]
    assert {t.device.type for t in (*tr.observed, *tr.residual, *tr.grads)} == {device.type}
    report = ledger.report()
    assert all(c.device.type == "cpu" for c in report.charges.values())
    assert report.all_match and report.steps == 12, str(report)
    assert report.rows[0].residual < 1e-12 and report.rows[0].drift > 1e-3
    ledger.close()
    # check_training: a fixed number of reads (finding the symmetries, the report), not per step
    reads = []
    for steps in (4, 20):
        opt = torch.optim.SGD(net.parameters(), **SGD)
        with host_reads() as r:
            check_training(net, nn.MSELoss(), (x, y), opt, steps, found)
        reads.append(r.count)
    assert reads[0] == reads[1] > 0, reads

"""train() under torch.distributed: 2 real gloo processes against the single-process run.

One spawn of 2 CPU processes runs every scenario (a few seconds in all): the
same global batch on 2 ranks reproduces the single-process parameters and
history to round-off (unequal shards included), the validation loss is the
same on both ranks, rank 0 alone writes the checkpoint, and checkpoints
resume across world sizes (2 -> 1 and 1 -> 2) as if never interrupted.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import symnet.models as sm
from symnet import _distributed

STEPS, HALF, BATCH = 300, 150, 15  # 64 samples / 15: shards 8 + 7, last batch 2 + 2
# HALF ends an epoch (5 steps each): the checkpoint there continues like an uninterrupted run
TOL = 1e-10


def _data(n: int, seed: int) -> dict[str, torch.Tensor]:
    """A harmonic oscillator, ``qddot = -q``, float64."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, 1, generator=g, dtype=torch.float64)
    qdot = torch.randn(n, 1, generator=g, dtype=torch.float64)
    return {"q": q, "qdot": qdot, "qddot": -q}


def _sampler(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Fresh mass-spring samples for an HNN: ``H = (q^2 + p^2) / 2``."""
    q = torch.randn(n, 1, generator=generator, dtype=torch.float64)
    p = torch.randn(n, 1, generator=generator, dtype=torch.float64)
    return {"q": q, "p": p, "dq_dt": p, "dp_dt": -q}


def _lnn(steps: int, ckpt: Path | None = None, resume: bool = False) -> tuple:
    """An LNN trained on 64 samples with validation; ``(parameters, history dict)``."""
    torch.manual_seed(0)
    model = sm.LNN(config_shape=(1,), hidden=8).double()
    checkpointing = None if ckpt is None else sm.Checkpointing(ckpt, resume=resume)
    hist = sm.train(
        model, _data(64, 1), steps=steps, batch_size=BATCH, val_data=_data(21, 2),
        optimization=sm.Optimization(lr=1e-2), checkpointing=checkpointing,
        stopping=sm.Stopping(restore_best=False), progress=False,
    )  # fmt: skip
    return [p.detach().clone() for p in model.parameters()], hist.as_dict()


def _hnn() -> tuple:
    """An HNN on fresh samples from a callable (9 per step: shards of 5 and 4)."""
    torch.manual_seed(1)
    model = sm.HNN(config_shape=(1,), hidden=8).double()
    hist = sm.train(
        model, _sampler, steps=30, batch_size=9, steps_per_epoch=10, progress=False,
        optimization=sm.Optimization(lr=1e-2),
    )  # fmt: skip
    return [p.detach().clone() for p in model.parameters()], hist.as_dict()


def _scenarios(rank: int, tmp: Path) -> dict:
    """What every rank runs (in one process group)."""
    import symnet.models.training as training

    out: dict = {"active": _distributed.active(), "world": _distributed.world_size()}
    writes = []
    save = training._save
    training._save = lambda *a: (writes.append(a[6]), save(*a))[1]
    try:
        out["full"] = _lnn(STEPS, tmp / "full.pt")
    finally:
        training._save = save
    out["writes"] = writes
    out["half"] = _lnn(HALF, tmp / "two.pt")  # resumed by the test in one process
    out["from_one"] = _lnn(STEPS, tmp / "one.pt", resume=True)  # written by the test
    out["hnn"] = _hnn()
    try:
        torch.manual_seed(0)
        sm.train(sm.LNN(config_shape=(1,), hidden=4).double(), _data(8, 0), steps=2,
                 batch_size=1, progress=False)  # fmt: skip
    except ValueError as err:
        out["batch_error"] = str(err)
    return out


def _worker(rank: int, world: int, tmp: str) -> None:
    tmp_path = Path(tmp)
    try:
        dist.init_process_group(
            "gloo", init_method=f"file://{tmp_path / 'store'}", rank=rank, world_size=world
        )
        torch.save(_scenarios(rank, tmp_path), tmp_path / f"rank{rank}.pt")
    except BaseException:
        (tmp_path / f"rank{rank}.err").write_text(traceback.format_exc())
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _spawn(tmp_path: Path, world: int = 2) -> list[dict]:
    """Run :func:`_scenarios` on ``world`` spawned gloo processes; their results by rank."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        mp.spawn(_worker, args=(world, str(tmp_path)), nprocs=world, join=True)
    except Exception as err:
        logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("rank*.err")))
        raise AssertionError(f"a rank failed:\n{logs}") from err
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(world)]


def _gap(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    assert len(a) == len(b)
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Single-process references, then the 2-process scenarios (one spawn)."""
    tmp = tmp_path_factory.mktemp("ddp")
    assert not _distributed.active()
    ref = _lnn(STEPS)
    _lnn(HALF, tmp / "one.pt")  # a 1-process checkpoint for the 2 ranks to resume
    ranks = _spawn(tmp)
    return {"tmp": tmp, "ref": ref, "hnn": _hnn(), "ranks": ranks}


@pytest.mark.slow  # one spawn of 2 processes for all of them (~10 s)
def test_two_processes_reproduce_one(runs):
    ref_params, ref_hist = runs["ref"]
    for out in runs["ranks"]:
        assert out["active"] and out["world"] == 2
        params, hist = out["full"]
        assert _gap(params, ref_params) < TOL
        assert hist["steps"] == STEPS and len(hist["train_loss"]) == len(ref_hist["train_loss"])
        for key in ("train_loss", "val_loss"):
            assert max(abs(a - b) for a, b in zip(hist[key], ref_hist[key], strict=True)) < TOL
        assert _gap(out["hnn"][0], runs["hnn"][0]) < TOL  # fresh samples, shards 5 + 4
    # the comparison is sharp: one more step is far away
    assert _gap(_lnn(STEPS + 1)[0], ref_params) > 1e3 * TOL


@pytest.mark.slow  # one spawn of 2 processes for all of them (~10 s)
def test_history_and_validation_equal_on_every_rank(runs):
    zero, one = (out["full"][1] for out in runs["ranks"])
    assert zero == one  # bitwise: losses, val losses, best epoch, seconds
    assert len(zero["val_loss"]) == len(zero["train_loss"]) > 1
    assert _gap(runs["ranks"][0]["full"][0], runs["ranks"][1]["full"][0]) == 0  # synchronised


@pytest.mark.slow  # one spawn of 2 processes for all of them (~10 s)
def test_checkpoint_written_by_rank_zero_only(runs):
    zero, one = (out["writes"] for out in runs["ranks"])
    epochs = len(runs["ref"][1]["train_loss"])
    assert zero == list(range(1, epochs + 1)) and one == []
    model = sm.LNN(config_shape=(1,), hidden=8).double()
    ckpt = sm.load_checkpoint(runs["tmp"] / "full.pt", model, which="last")
    assert ckpt.epoch == epochs and ckpt.metadata["step"] == STEPS
    assert _gap([p.detach() for p in ckpt.model.parameters()], runs["ref"][0]) < TOL
    assert not list(runs["tmp"].glob("*.tmp"))


@pytest.mark.slow  # one spawn of 2 processes for all of them (~10 s)
def test_resume_across_world_sizes(runs):
    ref_params, ref_hist = runs["ref"]
    # 2 processes -> 1: continue the 2-process checkpoint here
    params, hist = _lnn(STEPS, runs["tmp"] / "two.pt", resume=True)
    assert _gap(params, ref_params) < TOL
    assert (
        max(abs(a - b) for a, b in zip(hist["val_loss"], ref_hist["val_loss"], strict=True)) < TOL
    )
    # 1 process -> 2: the ranks continued a 1-process checkpoint
    for out in runs["ranks"]:
        assert _gap(out["from_one"][0], ref_params) < TOL
        assert out["from_one"][1]["steps"] == STEPS


@pytest.mark.slow  # one spawn of 2 processes for all of them (~10 s)
def test_batch_smaller_than_world_is_refused(runs):
    for out in runs["ranks"]:
        assert "batch_size 1 is smaller than the world size" in out["batch_error"]
        assert "2 processes" in out["batch_error"]


def test_shards_partition_like_tensor_split():
    for n in (1, 4, 7, 64):
        for world in (1, 2, 3, 5):
            parts = [_distributed.shard(n, r, world) for r in range(world)]
            bounds = [(p.start, p.stop) for p in parts]
            sizes = [len(c) for c in torch.arange(n).tensor_split(world)]
            assert [b - a for a, b in bounds] == sizes
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(bounds[i][1] == bounds[i + 1][0] for i in range(world - 1))


def test_single_process_has_no_distributed_path(monkeypatch):
    assert not _distributed.active() and _distributed.rank() == 0
    assert _distributed.world_size() == 1

    def refuse(*args, **kwargs):
        raise AssertionError("a Runner (DDP) was built without a process group")

    monkeypatch.setattr("symnet.models.training.Runner", refuse)
    hist = sm.train(sm.LNN(config_shape=(1,), hidden=4).double(), _data(8, 0), steps=3,
                    batch_size=1, progress=False)  # fmt: skip
    assert hist.steps == 3  # batch_size 1 is fine in one process

"""EGNN's charged N-body experiment (Satorras et al., ICML 2021, Sec. 5.1) with symnet.

Five particles with charges +-1 in 3-D (``symnet.systems.charged``); from
the positions, velocities and charges at frame 30, predict the positions at
frame 40, 1000 simulator steps later. Three models, trained with the paper's
recipe (Adam, lr 5e-4, batch 100, weight decay 1e-12, MSE on the positions,
model selection on the validation MSE):

- ``linear``: the paper's Linear baseline, ``x_T = x0 + t v0`` with a learned
  time ``t`` (a check of the data: published test MSE 0.0819);
- ``egnn``: ``symnet.nn.EGNN`` as in the paper, 4 layers, 64 hidden, the
  velocity-aware update (``update_velocity=True``), node feature ``|v0|``, edge
  attributes ``(q_i q_j, |x_i - x_j|^2)`` (published 0.0071);
- ``painn``: ``symnet.nn.PaiNN`` (scalar + vector channels), 4 layers, 64
  channels, charges as scalars, velocities as one input vector channel,
  ``x_T = x0 + v_out``.

Every model is wrapped as a predictor ``(x0, v0, q) -> x_T`` that declares
its symmetry (E(3) with reflections, and permutations), so that
``symnet.testing.assert_equivariant`` checks the trained model in one line.
After training, the script checks that, and the centre-of-mass law of the
flow map (equal masses, internal forces: ``mean(x_T) = mean(x0) + T mean(v0)``).

Usage::

    python examples/nbody_egnn.py                    # a short demo (a few minutes)
    python examples/nbody_egnn.py --full --model egnn --epochs 10000 --minutes 40
    python examples/nbody_egnn.py --check CHECKPOINT  # the checks on a saved model

``--full`` is the paper's protocol (3000 / 2000 / 2000 trajectories);
``--minutes`` caps the wall time, and the learning rate follows a cosine
decay over ``max(epoch / epochs, elapsed / minutes)`` (``--schedule cosine``,
our deviation from the paper's constant rate, to converge within a budget of
CPU time; ``--schedule constant`` for the paper's). With
``SYMNET_EXAMPLE_SMALL=1`` it runs in seconds on tiny data.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from symnet.groups.utils import euclidean_group
from symnet.nn import EGNN
from symnet.systems.charged import ChargedNBody, charged_nbody_dataset
from symnet.testing import assert_equivariant

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
PUBLISHED = {
    "EGNN": 0.0071, "Radial Field": 0.0104, "GNN": 0.0107, "TFN": 0.0155,
    "SE(3)-Transformer": 0.0244, "Linear": 0.0819,
}  # fmt: skip
TIME_SPAN = 1.0  # 1000 steps of dt = 0.001 between the input and the target frame


# ------------------------------------------------------------------ predictors
class _Predictor(nn.Module):
    """``(x0 (B, N, 3), v0 (B, N, 3), q (B, N, 1)) -> x_T (B, N, 3)``, declared E(3) x S_N."""

    in_kinds = ("point", "vector", "scalar")
    out_kinds = ("point",)


class EGNNPredictor(_Predictor):
    """The paper's EGNN (velocity-aware), built from ``symnet.nn.EGNN``."""

    def __init__(self, hidden: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        # normalize=False: the paper's N-body model uses raw differences x_i - x_j
        self.net = EGNN(1, hidden, n_layers=n_layers, edge_features=2, update_velocity=True,
                        normalize=False)  # fmt: skip
        self.group = self.net.group

    def forward(self, x0: Tensor, v0: Tensor, q: Tensor) -> Tensor:
        """Positions at the target frame, shape ``(B, N, 3)``."""
        speed = v0.norm(dim=-1, keepdim=True)
        qq = q * q.transpose(-1, -2)  # (B, N, N): q_i q_j
        diff = x0[..., :, None, :] - x0[..., None, :, :]
        edge_attr = torch.stack([qq, (diff * diff).sum(-1)], -1)
        _, x, _ = self.net(speed, x0, v0, edge_attr=edge_attr)
        return x


class PaiNNPredictor(_Predictor):
    """``symnet.nn.PaiNN``: charges and speeds as scalars, velocities as a vector channel."""

    def __init__(self, hidden: int = 64, n_layers: int = 4, normalize: bool = True) -> None:
        super().__init__()
        from symnet.nn import PaiNN

        self.net = PaiNN(
            2, hidden, None, n_layers=n_layers, in_vector_features=1, out_vector_features=1,
            predict_positions=True, rbf_cutoff=10.0, normalize=normalize,
        )  # fmt: skip
        self.group = self.net.group

    def forward(self, x0: Tensor, v0: Tensor, q: Tensor) -> Tensor:
        """Positions at the target frame, shape ``(B, N, 3)``."""
        h = torch.cat([q, v0.norm(dim=-1, keepdim=True)], -1)
        _, x, _ = self.net(h, x0, v0[..., None, :])
        return x


class LinearPredictor(_Predictor):
    """The paper's Linear baseline: constant velocity, ``x_T = x0 + t v0`` with a learned ``t``."""

    def __init__(self) -> None:
        super().__init__()
        self.time = nn.Parameter(torch.tensor(0.7))  # the reference's starting value
        self.group = euclidean_group(3, reflections=True)  # E(3) x S_N, as the others

    def forward(self, x0: Tensor, v0: Tensor, q: Tensor) -> Tensor:
        """Positions at the target frame, shape ``(B, N, 3)``."""
        return x0 + self.time * v0


MODELS = {"linear": LinearPredictor, "egnn": EGNNPredictor, "painn": PaiNNPredictor}


def build(name: str, hidden: int = 64, n_layers: int = 4, paper_painn: bool = False) -> nn.Module:
    """The predictor called ``name`` (``linear``, ``egnn`` or ``painn``)."""
    if name == "linear":
        return LinearPredictor()
    if name == "painn":
        return PaiNNPredictor(hidden, n_layers, normalize=not paper_painn)
    return MODELS[name](hidden, n_layers)


# ------------------------------------------------------------------ training
def _inputs(d: ChargedNBody) -> tuple[Tensor, Tensor, Tensor]:
    return d.x0, d.v0, d.charges[..., None]


@torch.no_grad()
def evaluate(model: nn.Module, d: ChargedNBody, batch: int = 500) -> float:
    """Mean squared error of the predicted positions over a split."""
    model.eval()
    total = 0.0
    for i in range(0, len(d.x0), batch):
        sl = slice(i, i + batch)
        pred = model(d.x0[sl], d.v0[sl], d.charges[sl, :, None])
        total += float(((pred - d.target[sl]) ** 2).sum())
    return total / d.target.numel()


def train(
    model: nn.Module,
    data: dict[str, ChargedNBody],
    *,
    epochs: int,
    minutes: float = math.inf,
    lr: float = 5e-4,
    batch: int = 100,
    weight_decay: float = 1e-12,
    schedule: str = "cosine",
    eval_every: int = 5,
    seed: int = 0,
    log: Path | None = None,
    checkpoint: Path | None = None,
) -> dict:
    """Train with Adam on the MSE; keep the model of the best validation MSE."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    tr = data["train"]
    n = len(tr.x0)
    batch = min(batch, n)
    best = {"valid": math.inf, "test": math.inf, "epoch": -1}
    history = []
    state = None
    start = time.perf_counter()
    epoch = 0
    for epoch in range(epochs):
        elapsed = time.perf_counter() - start
        if elapsed > 60 * minutes:
            break
        if schedule == "cosine":
            frac = min(1.0, max(epoch / epochs, elapsed / (60 * minutes)))
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * frac))
        model.train()
        perm = torch.randperm(n)
        running = 0.0
        for i in range(0, n - batch + 1, batch):  # drop_last, as the reference
            idx = perm[i : i + batch]
            pred = model(tr.x0[idx], tr.v0[idx], tr.charges[idx, :, None])
            loss = ((pred - tr.target[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item() * batch
        if epoch % eval_every == 0 or epoch == epochs - 1:
            val, test = evaluate(model, data["valid"]), evaluate(model, data["test"])
            row = {"epoch": epoch, "train": running / (n // batch * batch), "valid": val,
                   "test": test, "lr": opt.param_groups[0]["lr"],
                   "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
            history.append(row)
            if val < best["valid"]:
                best = {"valid": val, "test": test, "epoch": epoch}
                state = {k: t.detach().clone() for k, t in model.state_dict().items()}
                if checkpoint is not None:
                    torch.save(state, checkpoint)
            if log is not None:
                with open(log, "a") as f:
                    f.write(json.dumps({**row, "best": best}) + "\n")
    if state is not None:
        model.load_state_dict(state)
    return {**best, "epochs_run": epoch + 1, "seconds": time.perf_counter() - start,
            "history": history}  # fmt: skip


# ------------------------------------------------------------------ checks
def centroid_error(pred: Tensor, d: ChargedNBody) -> float:
    """RMS of ``mean_i pred_i - mean_i x0_i - T mean_i v0_i`` (0 for exact internal forces)."""
    law = d.x0.mean(-2) + TIME_SPAN * d.v0.mean(-2)
    return float(((pred.mean(-2) - law) ** 2).mean().sqrt())


def checks(model: nn.Module, d: ChargedNBody, n: int = 2000) -> dict:
    """Equivariance of the trained predictor and its centre-of-mass law on ``n`` test samples."""
    model = model.double().eval()
    x0, v0, q = (t[:n].double() for t in _inputs(d))
    out: dict = {}
    if hasattr(model, "group"):
        rep = assert_equivariant(model, (x0[:16], v0[:16], q[:16]), rng=0)
        out["equivariance_passed"] = bool(rep.passed)
        out["equivariance_max_error"] = float(rep.max_error)
    with torch.no_grad():
        pred = model(x0, v0, q)
    dd = ChargedNBody(x0, v0, q[..., 0], d.target[:n].double())
    out["centroid_rms_model"] = centroid_error(pred, dd)
    out["centroid_rms_data"] = centroid_error(dd.target, dd)
    out["centroid_rms_model_vs_data"] = float(
        ((pred.mean(-2) - dd.target.mean(-2)) ** 2).mean().sqrt()
    )
    model.float()
    return out


# ------------------------------------------------------------------ main
def load_data(
    sizes: tuple[int, int, int], cache: Path | None, seed: int, frames: tuple[int, int] = (30, 40)
) -> dict:
    """The splits, from ``cache`` when it holds them (the simulation takes about a minute)."""
    if cache is not None and cache.exists():
        raw = torch.load(cache)
        return {k: ChargedNBody(*v) for k, v in raw.items()}
    data = charged_nbody_dataset(*sizes, frame_in=frames[0], frame_out=frames[1], rng=seed)
    if cache is not None:
        torch.save({k: tuple(v) for k, v in data.items()}, cache)
    return data


def main() -> None:
    """Train the models named on the command line, or check a saved one."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="the paper's data sizes")
    p.add_argument("--model", default="all", choices=["all", *MODELS])
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--minutes", type=float, default=math.inf)
    p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"])
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=0, help="training seed (init, shuffling)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the simulated data")
    p.add_argument("--cache", type=Path, default=None, help="data cache file (.pt)")
    p.add_argument("--out", type=Path, default=Path("."), help="folder for logs and results")
    p.add_argument("--paper-painn", action="store_true", help="PaiNN without pre-norms")
    p.add_argument("--check", type=Path, default=None, help="checks on a saved checkpoint")
    a = p.parse_args()
    torch.set_num_threads(1)
    if SMALL:
        sizes, epochs, hidden, layers = (64, 32, 32), 3, 16, 2
    elif a.full or a.check:
        sizes, epochs, hidden, layers = (3000, 2000, 2000), 10000, 64, 4
    else:
        sizes, epochs, hidden, layers = (500, 200, 200), 100, 64, 4
    epochs = a.epochs or epochs
    # the test mode predicts 1000 steps ahead of frame 2 instead of frame 30: a shorter simulation
    data = load_data(sizes, a.cache, a.data_seed, (2, 12) if SMALL else (30, 40))
    data_mse = float(((data["test"].target - data["test"].x0) ** 2).mean())
    print(f"data: {[len(d.x0) for d in data.values()]} trajectories; "
          f"test MSE of x_T = x0: {data_mse:.4f}")  # fmt: skip
    names = list(MODELS) if a.model == "all" else [a.model]
    a.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        model = build(name, hidden, layers, a.paper_painn)
        if a.check is not None:
            model.load_state_dict(torch.load(a.check))
            res = {
                "model": name,
                "test": evaluate(model, data["test"]),
                **checks(model, data["test"]),
            }
            print(json.dumps(res, indent=1))
            (a.out / f"nbody_{name}_checks.json").write_text(json.dumps(res, indent=1))
            continue
        lr = a.lr or 5e-4
        tag = f"nbody_{name}"
        log = a.out / f"{tag}.log"
        log.write_text("")
        res = train(model, data, epochs=epochs, minutes=a.minutes, lr=lr, schedule=a.schedule,
                    seed=a.seed, log=log, checkpoint=a.out / f"{tag}.pt")  # fmt: skip
        res.update(model=name, lr=lr, schedule=a.schedule, sizes=sizes, hidden=hidden,
                   layers=layers, **checks(model, data["test"]))  # fmt: skip
        history = res.pop("history")
        print(f"{name}: best valid {res['valid']:.5f}, test {res['test']:.5f} at epoch "
              f"{res['epoch']} ({res['epochs_run']} epochs, {res['seconds']:.0f} s)")  # fmt: skip
        (a.out / f"{tag}.json").write_text(json.dumps({**res, "history": history[-3:]}, indent=1))
        if hasattr(model, "group"):
            assert res["equivariance_passed"], f"{name} is not equivariant"
    print("published test MSE:", PUBLISHED)


if __name__ == "__main__":
    main()

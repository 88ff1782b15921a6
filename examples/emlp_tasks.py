"""EMLP's synthetic tasks: symnet's EquivariantMLP against a plain MLP.

Reproduces the three synthetic regression tasks of Finzi, Welling & Wilson,
"A practical method for constructing equivariant multilayer perceptrons for
arbitrary matrix groups" (ICML 2021), with data drawn from the same formulas
as the paper and its public dataset code:

``o5``
    O(5)-invariant regression. Two vectors ``x1, x2`` of ``R^5`` (standard
    normal), target ``sin|x1| - |x2|^3 / 2 + x1.x2 / (|x1| |x2|)``.
    ``rep_in = 2 V``, ``rep_out = S``, group ``Rotation(5) * Reflection(5)``.
``inertia``
    O(3)-equivariant regression. Five point masses (``softplus`` of a standard
    normal) at standard-normal positions of ``R^3``; target the inertia tensor
    ``sum_i m_i (|x_i|^2 I - x_i x_i^T)`` (flattened row-major, 9 entries).
    ``rep_in = 5 S + 5 V``, ``rep_out = V * V``, group ``Rotation(3) * Reflection(3)``.
``lorentz``
    Lorentz-invariant regression. Four four-momenta ``p1..p4`` (normal, scale
    1/4), target the electron-muon scattering matrix element
    ``4 L_e^{mu nu} L_mu,mu nu`` with ``L_e = p1 p3^T - (p1.p3 - p1.p1) eta`` and
    ``L_mu = (eta p2)(eta p4)^T - (p2.p4 - p2.p2) eta``, ``eta = diag(1,-1,-1,-1)``.
    ``rep_in = 4 V``, ``rep_out = S``, group ``Lorentz()`` (O(1,3)).

Normalisation follows EMLP (kept equivariant): inputs are divided by one scale
per input vector (``o5``: RMS of its entries; ``lorentz``: square root of the
mean ``|p.p| / 4``), never shifted; scalar targets are standardised by their
training mean and standard deviation (``o5``, ``lorentz``); ``inertia`` is left
unnormalised. The network sees normalised data; the loss and the reported
metric are the mean squared error in the original units, on a held-out test
set.

Protocol of ``--full`` (EMLP's data-efficiency runs at 3000 training samples):
3000 training / 5000 test samples, Adam at a constant learning rate 3e-3,
batch 500, 300 epochs, three hidden layers of about 384 channels, SiLU for the
MLP. ``--epochs`` and ``--ntrain`` shrink it when time is short; the script
prints the time per epoch and writes a JSON summary (``--out``).

Run: ``.venv/bin/python examples/emlp_tasks.py --full`` (minutes per task and
model; ``SYMNET_EXAMPLE_SMALL=1`` or no ``--full`` runs a tiny version in
seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symnet.groups import Group, Reflection, Rep, Rotation, Scalar, Vector

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
ETA = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))

#: Published test MSE at 3000 training samples (mean of 3 seeds): the results file released
#: with EMLP's code (experiments/notebooks/synthetic_results_all.csv of
#: github.com/mfinzi/equivariant-MLP; runs of its data-efficiency script).
#: EMLP with the task's full group: O(5), O(3), O(1,3); MLP without augmentation.
PUBLISHED = {
    "o5": {"emlp": 0.0310, "mlp": 0.0623},
    "inertia": {"emlp": 0.0282, "mlp": 0.840},
    "lorentz": {"emlp": 0.000266, "mlp": 0.0504},
}

# --------------------------------------------------------------------------- targets


def o5_target(x: Tensor) -> Tensor:
    """O(5)-invariant target of inputs ``x (n, 10)`` (two 5-vectors); returns ``(n, 1)``."""
    x1, x2 = x[..., :5], x[..., 5:]
    n1, n2 = x1.norm(dim=-1), x2.norm(dim=-1)
    y = torch.sin(n1) - 0.5 * n2**3 + (x1 * x2).sum(-1) / (n1 * n2)
    return y[..., None]


def inertia_target(x: Tensor, k: int = 5) -> Tensor:
    """Inertia tensor of ``k`` masses; ``x (n, 4k)`` = masses then positions; ``(n, 9)``."""
    m = x[..., :k]
    r = x[..., k:].reshape(*x.shape[:-1], k, 3)
    r2 = (r**2).sum(-1)[..., None, None]
    eye = torch.eye(3, dtype=x.dtype, device=x.device)
    inertia = (m[..., None, None] * (r2 * eye - r[..., :, None] * r[..., None, :])).sum(-3)
    return inertia.reshape(*x.shape[:-1], 9)


def scattering_target(x: Tensor, metric: Tensor | None = None) -> Tensor:
    """Electron-muon scattering matrix element of four 4-momenta ``x (n, 16)``; ``(n, 1)``.

    ``metric`` (default ``ETA``, Minkowski) is there for tests: any other metric breaks the
    Lorentz invariance.
    """
    eta = (ETA if metric is None else metric).to(x)
    p1, p2, p3, p4 = x.reshape(*x.shape[:-1], 4, 4).unbind(-2)

    def dot(a: Tensor, b: Tensor) -> Tensor:
        return ((a @ eta) * b).sum(-1)[..., None, None]

    le = p1[..., :, None] * p3[..., None, :] - (dot(p1, p3) - dot(p1, p1)) * eta
    q2, q4 = p2 @ eta, p4 @ eta
    lm = q2[..., :, None] * q4[..., None, :] - (dot(p2, p4) - dot(p2, p2)) * eta
    return 4 * (le * lm).sum((-2, -1))[..., None]


# ------------------------------------------------------------------------------ data


def o5_inputs(n: int, rng: torch.Generator) -> Tensor:
    """Two standard-normal vectors of ``R^5`` per sample, ``(n, 10)`` float64."""
    return torch.randn(n, 10, generator=rng, dtype=torch.float64)


def inertia_inputs(n: int, rng: torch.Generator, k: int = 5) -> Tensor:
    """``k`` masses ``softplus(N(0, 1))`` then ``k`` normal positions, ``(n, 4k)`` float64."""
    x = torch.randn(n, 4 * k, generator=rng, dtype=torch.float64)
    return torch.cat([F.softplus(x[:, :k]), x[:, k:]], dim=1)


def scattering_inputs(n: int, rng: torch.Generator) -> Tensor:
    """Four four-momenta ``N(0, 1/16)`` per sample, ``(n, 16)`` float64."""
    return torch.randn(n, 16, generator=rng, dtype=torch.float64) / 4


def o5_group() -> Group:
    """O(5) as symnet spells it."""
    return Rotation(5) * Reflection(5)


def o3_group() -> Group:
    """O(3) as symnet spells it."""
    return Rotation(3) * Reflection(3)


def lorentz_group() -> Group:
    """O(1,3) (imported lazily: the Lorentz group is optional for the other tasks)."""
    from symnet.groups import Lorentz

    return Lorentz()


@dataclass(frozen=True)
class Task:
    """One synthetic task: inputs, target, group and representations."""

    name: str
    inputs: Callable[[int, torch.Generator], Tensor]
    target: Callable[[Tensor], Tensor]
    group: Callable[[], Group]
    reps: Callable[[Group], tuple[Rep, Rep]]
    #: EMLP's normalisation: per-vector input scales, standardised scalar targets.
    normalise: bool

    def sample(self, n: int, seed: int) -> tuple[Tensor, Tensor]:
        """``n`` samples ``(x, y)`` in float64 from the seed ``seed``."""
        x = self.inputs(n, torch.Generator().manual_seed(seed))
        return x, self.target(x)


TASKS = {
    "o5": Task("o5", o5_inputs, o5_target, o5_group, lambda G: (2 * Vector(G), Scalar(G)), True),
    "inertia": Task(
        "inertia",
        inertia_inputs,
        inertia_target,
        o3_group,
        lambda G: (5 * Scalar(G) + 5 * Vector(G), Vector(G) * Vector(G)),
        False,
    ),
    "lorentz": Task(
        "lorentz",
        scattering_inputs,
        scattering_target,
        lorentz_group,
        lambda G: (4 * Vector(G), Scalar(G)),
        True,
    ),
}


def normalisation(task: Task, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """EMLP's equivariance-preserving statistics of a training set.

    Returns ``x_scale (d_in,)``, ``y_mean (d_out,)`` and ``y_scale (d_out,)``:
    one input scale per input vector (inputs are never shifted), and a target
    standardisation for scalar targets only.
    """
    if not task.normalise:
        return torch.ones(x.shape[1]), torch.zeros(y.shape[1]), torch.ones(y.shape[1])
    n_vec = x.shape[1] // (5 if task.name == "o5" else 4)
    v = x.reshape(x.shape[0], n_vec, -1)
    if task.name == "o5":
        s = (v**2).mean((0, 2)).sqrt()
    else:
        s = ((v @ ETA) * v).mean(-1).abs().mean(0).sqrt()
    x_scale = s[:, None].expand(n_vec, v.shape[2]).reshape(-1)
    return x_scale.float(), y.mean(0).float(), y.std(0).float()


class Normalised(nn.Module):
    """``y = y_scale * net(x / x_scale) + y_mean``; shapes ``(B, d_in) -> (B, d_out)``."""

    def __init__(self, net: nn.Module, stats: tuple[Tensor, Tensor, Tensor]) -> None:
        super().__init__()
        self.net = net
        for name, value in zip(("x_scale", "y_mean", "y_scale"), stats, strict=True):
            self.register_buffer(name, value.clone())

    def forward(self, x: Tensor) -> Tensor:
        """Predictions ``(B, d_out)`` in the original units for inputs ``(B, d_in)``."""
        return self.y_scale * self.net(x / self.x_scale) + self.y_mean


# ---------------------------------------------------------------------------- models


def plain_mlp(d_in: int, d_out: int, hidden: int = 384, n_layers: int = 3) -> nn.Module:
    """EMLP's baseline: ``n_layers`` hidden Linear + SiLU layers, then a Linear.

    Initialised as EMLP's (objax) linear layers are: Xavier-normal weights, zero biases.
    """
    widths = [d_in] + [hidden] * n_layers
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), nn.SiLU()]
    net = nn.Sequential(*layers, nn.Linear(widths[-1], d_out))
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def equivariant_mlp(task: Task, hidden: int = 384, n_layers: int = 3, seed: int = 0) -> nn.Module:
    """The ``symnet.nn.EquivariantMLP`` of the task's group and representations."""
    from symnet.nn import EquivariantMLP

    group = task.group()
    rep_in, rep_out = task.reps(group)
    return EquivariantMLP(group, rep_in, rep_out, hidden=hidden, n_layers=n_layers, seed=seed)


def build(model: str, task: Task, hidden: int, n_layers: int, seed: int) -> nn.Module:
    """``"mlp"`` or ``"emlp"`` for ``task``, in float32."""
    torch.manual_seed(seed)
    d_in, d_out = task.sample(1, 0)[0].shape[1], task.sample(1, 0)[1].shape[1]
    if model == "mlp":
        return plain_mlp(d_in, d_out, hidden, n_layers)
    if model == "emlp":
        return equivariant_mlp(task, hidden, n_layers, seed).float()
    raise ValueError(f"model must be 'mlp' or 'emlp', got {model!r}")


# -------------------------------------------------------------------------- training


@torch.no_grad()
def squared_errors(model: nn.Module, x: Tensor, y: Tensor, batch: int = 1000) -> Tensor:
    """Per-sample squared errors (mean over output entries) of ``model``, shape ``(n,)``."""
    return torch.cat(
        [
            ((model(x[i : i + batch]) - y[i : i + batch]) ** 2).mean(-1)
            for i in range(0, len(x), batch)
        ]
    )


def mse(model: nn.Module, x: Tensor, y: Tensor, batch: int = 1000) -> float:
    """Mean squared error of ``model`` over ``(x, y)``, in batches."""
    return squared_errors(model, x, y, batch).mean().item()


def train(
    model: nn.Module,
    data: dict[str, tuple[Tensor, Tensor]],
    *,
    epochs: int,
    batch: int = 500,
    lr: float = 3e-3,
    seed: int = 0,
    log_every: int = 0,
) -> dict[str, float]:
    """Adam on the training MSE; returns train/test MSE and the time per epoch."""
    x, y = data["train"]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed)
    bs = min(batch, len(x))
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=rng).split(bs):
            loss = ((model(x[idx]) - y[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"training diverged at epoch {epoch}")
        if log_every and (epoch + 1) % log_every == 0:
            sec = (time.perf_counter() - start) / (epoch + 1)
            print(f"    epoch {epoch + 1}: train batch MSE {loss.item():.4g} ({sec:.3f} s/epoch)")
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        errors = squared_errors(model, *data["test"])
    return {
        "train_mse": mse(model, *data["train"]),
        "test_mse": errors.mean().item(),
        # the targets grow as powers of |x|: how much of the MSE the worst 1% of samples make
        "test_median_se": errors.median().item(),
        "test_mse_share_worst_1pct": (
            errors.topk(max(len(errors) // 100, 1)).values.sum() / errors.sum()
        ).item(),
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / max(epochs, 1),
    }


def run(task_name: str, model_name: str, cfg: argparse.Namespace) -> dict[str, object]:
    """Generate data, build, train and evaluate one (task, model) pair."""
    task = TASKS[task_name]
    raw = {
        "train": task.sample(cfg.ntrain, cfg.seed),
        "test": task.sample(cfg.ntest, cfg.seed + 1),
    }
    data = {k: (x.float(), y.float()) for k, (x, y) in raw.items()}
    t0 = time.perf_counter()
    net = build(model_name, task, cfg.hidden, cfg.n_layers, cfg.seed)
    build_seconds = time.perf_counter() - t0
    model = Normalised(net, normalisation(task, *raw["train"]))
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"  {task_name} / {model_name}: {n_params} parameters, built in {build_seconds:.1f} s")
    out = train(
        model, data, epochs=cfg.epochs, batch=cfg.batch, lr=cfg.lr, seed=cfg.seed,
        log_every=cfg.log_every,
    )  # fmt: skip
    print(
        f"  {task_name} / {model_name}: test MSE {out['test_mse']:.4g}, "
        f"train MSE {out['train_mse']:.4g}, {out['seconds_per_epoch']:.3f} s/epoch"
    )
    return {"task": task_name, "model": model_name, "parameters": n_params,
            "build_seconds": build_seconds, **out}  # fmt: skip


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; sizes default to the tiny run, or EMLP's with ``--full``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="EMLP's protocol (3000 samples, 300 ep.)")
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--models", nargs="+", default=["mlp", "emlp"], choices=["mlp", "emlp"])
    p.add_argument("--ntrain", type=int, default=None)
    p.add_argument("--ntest", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--n-layers", dest="n_layers", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--log-every", dest="log_every", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    cfg = p.parse_args(argv)
    full = cfg.full and not SMALL
    for key, big, small in [("ntrain", 3000, 64), ("ntest", 5000, 128), ("epochs", 300, 3),
                            ("hidden", 384, 32)]:  # fmt: skip
        if getattr(cfg, key) is None:
            setattr(cfg, key, big if full else small)
    return cfg


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    """Run every requested (task, model) pair; returns their results (and writes ``--out``)."""
    cfg = parse(argv)
    torch.set_num_threads(cfg.threads)
    print(
        f"EMLP synthetic tasks: {cfg.ntrain} train / {cfg.ntest} test samples, {cfg.epochs} "
        f"epochs, batch {cfg.batch}, lr {cfg.lr}, hidden {cfg.hidden} x {cfg.n_layers}, "
        f"seed {cfg.seed}, {torch.get_num_threads()} thread(s)"
    )
    results = [run(t, m, cfg) for t in cfg.tasks for m in cfg.models]
    print("\n| task | model | test MSE | published | s/epoch |\n|---|---|---|---|---|")
    for r in results:
        assert math.isfinite(float(r["test_mse"])), r
        r["published_test_mse"] = PUBLISHED[str(r["task"])][str(r["model"])]
        print(
            f"| {r['task']} | {r['model']} | {r['test_mse']:.4g} | {r['published_test_mse']:.4g} "
            f"| {r['seconds_per_epoch']:.3f} |"
        )
    if cfg.out is not None:
        cfg.out.parent.mkdir(parents=True, exist_ok=True)
        config = {k: v for k, v in vars(cfg).items() if k not in ("out", "tasks", "models")}
        cfg.out.write_text(json.dumps({"config": config, "results": results}, indent=1) + "\n")
        print(f"wrote {cfg.out}")
    return results


if __name__ == "__main__":
    main()

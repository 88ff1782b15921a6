"""Cost of every layer of ``symnet.nn`` on a typical workload: the "Choosing a layer" table.

For each layer: the number of parameters, the build time (construction, with
the equivariant-basis cache cleared for the layers that solve one), and the
time of one forward pass and of one forward + backward pass (the backward of
the sum of the outputs with respect to the parameters and the floating-point
inputs), float32, one thread, the minimum over ``--repeats`` after a warm-up.

Workloads (chosen to be comparable across layers of one group):

- point clouds: ``B = 32`` configurations of ``N = 20`` particles in 3-D, 16
  scalar features per particle, hidden width 64;
- sets: the same 32 x 20 x 16 scalar features, no positions;
- rep-valued inputs: a batch of 512 vectors of the rep.

No peer is timed here (the peers' own benchmarks are bench_egnn.py,
bench_equivariant_linear.py and the reproductions in docs/reproductions.md);
the numbers compare symnet's layers with each other, measured in one run.

    .venv/bin/python benchmarks/bench_layers.py [--repeats 20] [--markdown]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

import symnet.nn as snn
from symnet.groups import Permutation, Reflection, Rotation, Scalar, Vector

B, N, D, F, H = 32, 20, 3, 16, 64
Case = tuple[str, str, Callable[[], tuple[nn.Module, tuple[Tensor, ...]]]]


def _inputs(seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(B, N, F, generator=g)
    x = torch.randn(B, N, D, generator=g)
    v = torch.randn(B, N, D, generator=g)
    return h, x, v


class _FlatMLP(nn.Module):
    """A plain MLP on the flattened positions of one configuration (for the wrappers)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(N * D, H), nn.SiLU(), nn.Linear(H, 1))

    def forward(self, q: Tensor) -> Tensor:
        return self.net(q.flatten(-2))[..., 0]


def _graph_inputs() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    h, x, v = _inputs()
    batch = torch.arange(B).repeat_interleave(N)
    edge_index = snn.fully_connected_graph(B * N, batch)
    return h.reshape(B * N, F), x.reshape(B * N, D), v.reshape(B * N, D), edge_index


def _emlp(group, rep_in, rep_out, hidden: int = 256):
    return snn.EquivariantMLP(group, rep_in, rep_out, hidden=hidden, n_layers=3)


def cases() -> list[Case]:
    h, x, v = _inputs()
    O5, O3 = Rotation(5) * Reflection(5), Rotation(3) * Reflection(3)
    V5, V3 = Vector(O5), Vector(O3)
    out: list[Case] = [
        ("InvariantFeatures", "point cloud", lambda: (snn.InvariantFeatures(), (x, v))),
        ("EGNNLayer", "point cloud", lambda: (snn.EGNNLayer(F, H), (h, x))),
        ("EGNN (4 layers)", "point cloud", lambda: (snn.EGNN(F, H, F, n_layers=4), (h, x))),
        (
            "EGNNConv",
            "point cloud (graph)",
            lambda: (snn.EGNNConv(F, H), _graph_inputs()[:2] + _graph_inputs()[3:]),
        ),
        (
            "PairPotential",
            "point cloud",
            lambda: (snn.PairPotential(2.5, hidden=(32, 32)), (2.0 * x,)),
        ),
        ("Centered(MLP)", "point cloud", lambda: (snn.Centered(_FlatMLP(), "point"), (x,))),
        (
            "FrameAveraged(MLP)",
            "point cloud",
            lambda: (snn.FrameAveraged(_FlatMLP(), "point"), (x,)),
        ),
        ("PermEquivariantLinear", "set", lambda: (snn.PermEquivariantLinear(F, H), (h,))),
        ("DeepSets", "set", lambda: (snn.DeepSets(F, H, F), (h,))),
        (
            "GroupAveraged (S_5)",
            "set of 5",
            lambda: (
                snn.GroupAveraged(
                    nn.Sequential(nn.Flatten(-2), nn.Linear(5 * F, 1)), Permutation(), "scalar"
                ),
                (h[:, :5],),
            ),
        ),
        (
            "EquivariantLinear O(3): V*V -> V*V",
            "rep, batch 512",
            lambda: (
                snn.EquivariantLinear(O3, V3 * V3, V3 * V3),
                (torch.randn(512, 9, generator=torch.Generator().manual_seed(1)),),
            ),
        ),
    ]
    if "EquivariantMLP" in snn.__all__:
        out.append(
            (
                "EquivariantMLP O(5): 2V -> S",
                "rep, batch 512",
                lambda: (
                    _emlp(O5, 2 * V5, Scalar(O5)),
                    (torch.randn(512, 10, generator=torch.Generator().manual_seed(2)),),
                ),
            )
        )
    if "PaiNN" in snn.__all__:
        out[3:3] = [
            ("PaiNNLayer", "point cloud", lambda: (snn.PaiNNLayer(H), _painn_layer_inputs())),
            ("PaiNN (3 layers)", "point cloud", lambda: (snn.PaiNN(F, H, F, n_layers=3), (h, x))),
        ]
    try:
        from symnet.groups import Lorentz
    except ImportError:
        return out
    if "EquivariantMLP" not in snn.__all__:
        return out
    L4 = Vector(Lorentz())
    out.append(
        (
            "EquivariantMLP Lorentz: 4V -> S",
            "rep, batch 512",
            lambda: (
                _emlp(Lorentz(), 4 * L4, Scalar(Lorentz())),
                (0.3 * torch.randn(512, 16, generator=torch.Generator().manual_seed(3)),),
            ),
        )
    )
    return out


def _painn_layer_inputs() -> tuple[Tensor, ...]:
    h, x, _ = _inputs()
    g = torch.Generator().manual_seed(4)
    return torch.randn(B, N, H, generator=g), x, torch.randn(B, N, H, D, generator=g)


def _outputs_sum(out: object) -> Tensor:
    if isinstance(out, Tensor):
        return out.sum()
    return sum(_outputs_sum(o) for o in out if o is not None)  # type: ignore[union-attr]


def measure(make: Callable[[], tuple[nn.Module, tuple[Tensor, ...]]], repeats: int) -> dict:
    snn.clear_basis_cache()
    t0 = time.perf_counter()
    model, inputs = make()
    build = time.perf_counter() - t0
    inputs = tuple(t.clone().requires_grad_(t.is_floating_point()) for t in inputs)
    params = sum(p.numel() for p in model.parameters()) if isinstance(model, nn.Module) else 0

    def forward() -> object:
        with torch.no_grad():
            return model(*inputs)

    def both() -> None:
        _outputs_sum(model(*inputs)).backward()

    timings = {}
    for name, fn in (("forward", forward), ("backward", both)):
        fn()  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        timings[name] = best
    return {"params": params, "build": build, **timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name in snn.__all__:  # import the lazy modules (torch_geometric) before timing builds
        getattr(snn, name)
    rows = []
    for name, workload, make in cases():
        r = measure(make, args.repeats)
        rows.append((name, workload, r))
        if not args.markdown:
            print(
                f"{name:38s} {workload:20s} params {r['params']:>7d}  build {1e3 * r['build']:8.1f}"
                f" ms  forward {1e3 * r['forward']:7.2f} ms  fwd+bwd {1e3 * r['backward']:7.2f} ms",
                flush=True,
            )
    if args.markdown:
        print("| layer | workload | parameters | build (ms) | forward (ms) | fwd+bwd (ms) |")
        print("|---|---|---|---|---|---|")
        for name, workload, r in rows:
            print(
                f"| `{name}` | {workload} | {r['params']:,} | {1e3 * r['build']:.1f} | "
                f"{1e3 * r['forward']:.2f} | {1e3 * r['backward']:.2f} |"
            )


if __name__ == "__main__":
    main()

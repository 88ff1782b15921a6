"""Symmetry unit tests: symnet's ``assert_equivariant`` vs e3nn's, on the same e3nn modules.

For each module both libraries test the same float32-built module on the same
inputs, one after the other in the same process: e3nn's
``e3nn.util.test.assert_equivariant`` (one random rotation with and without
parity, plus a translation of the ``cartesian_points`` inputs, all in one
evaluation each, in the module's float32) and symnet's
:func:`symnet.testing.assert_equivariant` in three settings:

- ``default``: float64 copy of the module; 8 random elements of the group
  (plus 1 of each continuous factor of a product tested alone), every
  discrete generator (the reflection), and the Lie derivative along every
  generator with 2 probes sizing its terms, plus the vacuity check;
- ``fast=True``: the same group in float64, with 2 random elements, the
  discrete generators, the Lie derivatives with one probe (instead of two),
  and no per-factor samples;
- ``fast=True, float32``: as ``fast`` but in float32 (no cast of the module).

Modules: ``o3.Linear``, ``o3.FullyConnectedTensorProduct``, a tensor product
feeding an ``e3nn.nn.Gate`` and an ``o3.Linear``, and
``e3nn.nn.models.gate_points_2101.Network`` (takes a dict; wrapped by a
function of the positions and features), tested under O(3) =
``Rotation(3) * Reflection(3)`` (and translations for the network).

Time: median and minimum of ``--repeats`` runs after one warm-up call, one
thread; the ratio is symnet's median over e3nn's.

Run: ``.venv/bin/python benchmarks/bench_testing.py [--repeats 7] [--profile]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from e3nn import o3
from e3nn.nn import Gate
from e3nn.nn.models.gate_points_2101 import Network
from e3nn.util.test import assert_equivariant as e3nn_assert

from symnet.groups import Reflection, Rotation, Translation
from symnet.testing import assert_equivariant


class GateNet(torch.nn.Module):
    """Tensor product -> Gate -> Linear: (B, 8) x (B, 9) -> (B, 8)."""

    def __init__(self) -> None:
        super().__init__()
        gate = Gate("8x0e", [torch.tanh], "6x0e", [torch.sigmoid], "4x1o + 2x2e")
        self.tp = o3.FullyConnectedTensorProduct("2x0e + 2x1o", "0e + 1o + 2e", gate.irreps_in)
        self.gate = gate
        self.lin = o3.Linear(gate.irreps_out, "2x0e + 1o + 1e")

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.lin(self.gate(self.tp(x, y)))


def _network() -> tuple[Callable[..., Any], Callable[..., Any]]:
    net = Network(
        irreps_in="4x0e + 2x1o", irreps_hidden="8x0e + 8x0o + 4x1e + 4x1o",
        irreps_out="2x0e + 1o", irreps_node_attr=None,
        irreps_edge_attr=o3.Irreps.spherical_harmonics(2), layers=2, max_radius=2.0,
        number_of_basis=8, radial_layers=1, radial_neurons=16, num_neighbors=3.0,
        num_nodes=6.0, reduce_output=True,
    )  # fmt: skip

    class Wrapped(torch.nn.Module):  # symnet: (B, N, 3), (B, N, 10) -> (B, 5)
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, pos: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            B, N = pos.shape[:2]
            batch = torch.arange(B, device=pos.device).repeat_interleave(N)
            data = {"pos": pos.reshape(B * N, 3), "x": x.reshape(B * N, -1), "batch": batch}
            return self.net(data)

    def for_e3nn(pos: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # one graph
        return net({"pos": pos, "x": x})

    return Wrapped(), for_e3nn


def cases() -> list[dict[str, Any]]:
    """The modules, their inputs and irreps for both libraries."""
    torch.manual_seed(0)
    B = 16
    O3 = Rotation(3) * Reflection(3)
    lin = o3.Linear("2x0e + 3x1o + 2e", "4x0e + 2x1o + 2e")
    tp = o3.FullyConnectedTensorProduct("1o", "1o", "0e + 1e + 2e")
    gate = GateNet()
    wrapped, for_e3nn = _network()
    pos, feats = torch.randn(1, 6, 3) * 1.5, torch.randn(1, 6, 10)
    x16, x3, y3, x8, y9 = (torch.randn(B, d) for d in (16, 3, 3, 8, 9))
    return [
        dict(name="o3.Linear", fn=lin, group=O3, inputs=x16,
             kinds=(lin.irreps_in, lin.irreps_out), e3nn=(lin, [x16], None, None)),
        dict(name="FullyConnectedTP", fn=tp, group=O3, inputs=(x3, y3),
             kinds=(("1o", "1o"), "0e + 1e + 2e"), e3nn=(tp, [x3, y3], None, None)),
        dict(name="TP + Gate + Linear", fn=gate, group=O3, inputs=(x8, y9),
             kinds=(("2x0e + 2x1o", "0e + 1o + 2e"), "2x0e + 1o + 1e"),
             e3nn=(gate, [x8, y9], ["2x0e + 2x1o", "0e + 1o + 2e"], ["2x0e + 1o + 1e"])),
        dict(name="gate_points_2101", fn=wrapped, group=Translation(3) * O3, inputs=(pos, feats),
             kinds=(("point", _per_particle("4x0e + 2x1o")), "2x0e + 1o"),
             e3nn=(for_e3nn, [pos[0], feats[0]], ["cartesian_points", "4x0e + 2x1o"],
                   ["2x0e + 1o"])),
    ]  # fmt: skip


def _per_particle(irreps: str) -> Any:
    from symnet.groups import irreps_kind

    return irreps_kind(irreps, per_particle=True)


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(median, min) wall time in ms after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile symnet's default run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads} repeats={args.repeats} seed=0 (median / min, ms)")
    header = f"{'module':<20} {'e3nn':>13} {'symnet default':>17} {'ratio':>6}"
    header += f" {'symnet fast':>14} {'ratio':>6} {'fast float32':>14} {'ratio':>6}"
    print(header)
    for case in cases():
        e3 = case["e3nn"]
        in_k, out_k = case["kinds"]

        def run_e3nn(e3: Any = e3) -> None:
            func, args_in, irreps_in, irreps_out = e3
            e3nn_assert(func, args_in=args_in, irreps_in=irreps_in, irreps_out=irreps_out)

        def run_symnet(case: Any = case, in_k: Any = in_k, out_k: Any = out_k, **kw: Any) -> None:
            assert_equivariant(case["fn"], case["group"], case["inputs"], in_k, out_k, **kw)

        e3m, e3min = timed(run_e3nn, args.repeats)
        dm, dmin = timed(run_symnet, args.repeats)
        fm, fmin = timed(lambda: run_symnet(fast=True), args.repeats)
        f32m, f32min = timed(lambda: run_symnet(fast=True, dtype=torch.float32), args.repeats)
        print(
            f"{case['name']:<20} {e3m:6.1f} /{e3min:6.1f} {dm:8.1f} /{dmin:6.1f} {dm / e3m:6.2f}"
            f" {fm:6.1f} /{fmin:6.1f} {fm / e3m:6.2f} {f32m:6.1f} /{f32min:6.1f} {f32m / e3m:6.2f}"
        )
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            run_symnet()
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(18)


if __name__ == "__main__":
    main()

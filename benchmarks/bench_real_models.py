"""symnet's symmetry assertions on real third-party models: verdict, error and time.

The models are those of the test suite (``tests/third_party/_models.py``),
as their packages ship them: PyG's SchNet and DimeNet++ (on pure-torch
``radius_graph`` / ``triplets``, since torch-cluster and torch-sparse are
not installed), e3nn's ``gate_points_2101.Network`` and ``Gate``, and
egnn-pytorch's ``EGNN`` and ``EGNN_Network``; each with its true symmetry
and a deliberately broken twin. Every model is built in float64 except where
the row says float32. One row runs symnet's ``fast=True`` setting (2 random
elements, no probes, no per-factor samples).

For each row: symnet's ``assert_invariant`` / ``assert_equivariant`` (default
settings: 8 random elements of the product, 2 of each continuous factor, the
discrete generators, one Lie derivative per generator) and, where it applies
(e3nn modules), e3nn's ``e3nn.util.test.assert_equivariant`` on the same
model and inputs (rotations, parity and, for ``cartesian_points``,
translations: no permutations). Time: one warm-up call, then the minimum of
``--repeats`` timed calls, one thread. The verdict is symnet's: ``pass``,
``FAIL: <what the message names>``, ``vacuous`` (passed with a
``SymmetryWarning``) or ``mutation`` (an ``InputMutationError``); e3nn's
verdict is printed next to its time.

Run: ``.venv/bin/python benchmarks/bench_real_models.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the models live with the tests

from e3nn import o3  # noqa: E402
from e3nn.nn import Gate  # noqa: E402
from e3nn.util.test import assert_equivariant as e3nn_assert_equivariant  # noqa: E402

from symnet.groups import Permutation, Reflection, Rotation, Translation  # noqa: E402
from symnet.groups.utils import default_dtype  # noqa: E402
from symnet.testing import (  # noqa: E402
    InputMutationError,
    SymmetryAssertionError,
    SymmetryWarning,
    assert_equivariant,
    assert_invariant,
)
from tests.third_party import _models as M  # noqa: E402

E3N = Translation(3) * Rotation(3) * Reflection(3) * Permutation()
O3 = Rotation(3) * Reflection(3)
E3N_NAME = "E(3) x S_N"


def _timed(call: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    """``(outcome of the last call, min time in ms)``; an exception is an outcome."""

    def once() -> Any:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = call()
            return result, caught
        except (AssertionError, InputMutationError) as err:
            return err, []

    once()  # warm-up
    best, outcome = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        outcome = once()
        best = min(best, time.perf_counter() - t0)
    return outcome, 1e3 * best


def _named(report: Any) -> str:
    """What the failing rows name, product samples left out: ``rotation_x, reflection, ...``."""
    names: list[str] = []
    for r in report.failures:
        name = r.name.split(" sample")[0] if r.factor else r.name
        if (r.factor or not r.name.startswith("sample")) and name not in names:
            names.append(name)
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "") or "samples"


def _verdict(outcome: Any) -> tuple[str, float]:
    result, caught = outcome
    if isinstance(result, InputMutationError):
        return "mutation error", float("nan")
    if isinstance(result, SymmetryAssertionError):
        report = result.report
        if report.vacuous and report.strict:
            return "FAIL: vacuous (strict)", report.max_error
        return f"FAIL: {_named(report)}", report.max_error
    if any(issubclass(w.category, SymmetryWarning) for w in caught):
        return "vacuous (warning)", result.max_error
    return "pass", result.max_error


def _e3nn(call: Callable[[], Any] | None, repeats: int) -> str:
    if call is None:
        return "-"
    (result, _), ms = _timed(call, repeats)
    return f"{ms:.0f} ({'fail' if isinstance(result, AssertionError) else 'pass'})"


def _rows(repeats: int) -> list[tuple[str, ...]]:
    z, pos = M.molecules()
    data = M.as_batch(z, pos)
    flat = (data.z, data.pos, data.batch)
    flat_kinds = ("label", "point", "batch")
    pyg_kinds = {"pos": "point", "z": "label"}
    rows: list[tuple[str, ...]] = []

    def add(model: str, symmetry: str, symnet_call, e3nn_call=None) -> None:
        outcome, ms = _timed(symnet_call, repeats)
        verdict, err = _verdict(outcome)
        rows.append(
            (model, symmetry, verdict, f"{err:.1e}", f"{ms:.0f}", _e3nn(e3nn_call, repeats))
        )
        print(" | ".join(rows[-1]), flush=True)

    def forces(model: Any) -> Callable:
        def f(d: Any) -> torch.Tensor:
            with torch.enable_grad():
                p = d.pos if d.pos.requires_grad else d.pos.clone().requires_grad_(True)
                (g,) = torch.autograd.grad(model(d.z, p, d.batch).sum(), p, create_graph=True)
            return -g

        return f

    # ------------------------------------------------------------------ PyG
    schnet = M.schnet()
    add("SchNet energy", E3N_NAME, lambda: assert_invariant(schnet, E3N, flat, flat_kinds))
    add(
        "SchNet forces (autograd)",
        E3N_NAME + ", vector",
        lambda: assert_equivariant(forces(schnet), E3N, data, pyg_kinds, "vector"),
    )
    aniso = M.schnet(metric=(1.0, 1.0, 2.0))
    add(
        "SchNet, metric diag(1,1,2)",
        E3N_NAME,
        lambda: assert_invariant(aniso, E3N, flat, flat_kinds),
    )
    with M.pure_torch_dimenet():
        dimenet = M.dimenet_pp()
        add("DimeNet++ energy", E3N_NAME, lambda: assert_invariant(dimenet, E3N, flat, flat_kinds))
        add(
            "DimeNet++ forces (autograd)",
            E3N_NAME + ", vector",
            lambda: assert_equivariant(forces(dimenet), E3N, data, pyg_kinds, "vector"),
        )

        def leak(d: Any) -> torch.Tensor:
            e = dimenet(d.z, d.pos, d.batch)
            return e + torch.zeros_like(e).index_add(0, d.batch, d.pos[:, :1])

        add(
            "DimeNet++ + x-field leak",
            E3N_NAME,
            lambda: assert_invariant(leak, E3N, data, pyg_kinds),
        )
        zeros = M.dimenet_pp(output_initializer="zeros")
        add("DimeNet++ zero init", E3N_NAME, lambda: assert_invariant(zeros, E3N, flat, flat_kinds))
        add(
            "DimeNet++ zero init",
            E3N_NAME + ", strict",
            lambda: assert_invariant(zeros, E3N, flat, flat_kinds, strict=True),
        )

    # ----------------------------------------------------------------- e3nn
    inputs = {"pos": data.pos, "batch": data.batch}
    kinds = {"pos": "point", "batch": "batch"}
    for dtype in (torch.float64, torch.float32):
        net = M.gate_network(dtype=dtype)
        pos_e3nn = data.pos.to(dtype)
        for declared in ("0e + 1o", "0e + 1e"):
            irreps = o3.Irreps(declared)
            tag = "" if dtype == torch.float64 else ", built float32"
            add(
                f"gate_points_2101 ({declared}){tag}",
                "E(3) x S_N, " + declared,
                lambda net=net, irreps=irreps: assert_equivariant(net, E3N, inputs, kinds, irreps),
                lambda net=net, irreps=irreps, p=pos_e3nn: e3nn_assert_equivariant(
                    lambda x: net({"pos": x, "batch": data.batch}),
                    args_in=[p],
                    irreps_in=["cartesian_points"],
                    irreps_out=[irreps],
                ),
            )
    net = M.gate_network()
    add(
        "gate_points_2101 (0e + 1o), fast=True",
        "E(3) x S_N, 0e + 1o",
        lambda: assert_equivariant(net, E3N, inputs, kinds, o3.Irreps("0e + 1o"), fast=True),
    )
    with default_dtype(torch.float64):
        gate = Gate("4x0e", [torch.tanh], "2x0e", [torch.sigmoid], "1x1o + 1x1e").eval()
    x = torch.randn(4, gate.irreps_in.dim, generator=torch.Generator().manual_seed(0)).double()
    add(
        "e3nn Gate",
        "O(3), " + str(gate.irreps_out),
        lambda: assert_equivariant(gate, O3, x, gate.irreps_in, gate.irreps_out),
        lambda: e3nn_assert_equivariant(gate, args_in=[x]),
    )

    # -------------------------------------------------------- egnn-pytorch
    feats = torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    sp = ("scalar", "point")
    egnn = M.egnn()
    add("EGNN", E3N_NAME, lambda: assert_equivariant(egnn, E3N, (feats, pos), sp, sp))
    add(
        "EGNN, x leaked into feats",
        E3N_NAME,
        lambda: assert_equivariant(lambda h, c: egnn(h + c[..., :1], c), E3N, (feats, pos), sp, sp),
    )
    tokens = M.egnn_network(num_tokens=10)
    add(
        "EGNN_Network (tokens)",
        E3N_NAME,
        lambda: assert_equivariant(tokens, E3N, (z, pos), ("label", "point"), sp),
    )
    indexed = M.egnn_network(num_tokens=10, num_positions=5)
    add(
        "EGNN_Network (tokens, num_positions)",
        E3N_NAME,
        lambda: assert_equivariant(indexed, E3N, (z, pos), ("label", "point"), sp),
    )
    in_place = M.egnn_network(num_positions=5)
    add(
        "EGNN_Network (feats, num_positions)",
        E3N_NAME,
        lambda: assert_equivariant(in_place, E3N, (feats, pos), sp, sp),
    )
    return rows


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads 1, min of {args.repeats} repeats after a warm-up\n")
    header = ("model", "symmetry", "verdict", "max error", "symnet time (ms)", "e3nn time (ms)")
    rows = _rows(args.repeats)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()

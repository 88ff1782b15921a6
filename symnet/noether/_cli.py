"""``symnet check MODULE:OBJECT --symmetry NAME ...``: the checker from the command line.

OBJECT is a :class:`symnet.systems.System` instance or class (its
``sample_states`` gives the initial states and its closed-form acceleration
the dynamics), or a Lagrangian callable ``L(q, qdot[, t])`` together with
``--config-shape`` (initial states from a seeded standard normal, dynamics from
the Euler-Lagrange equations by autodiff).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

import torch

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``symnet check``."""
    parser.add_argument(
        "target", metavar="MODULE:OBJECT", help="a symnet system or a Lagrangian callable"
    )
    parser.add_argument(
        "--symmetry",
        "-s",
        action="append",
        required=True,
        metavar="NAME",
        help="translation, rotation, time, boost, permutation, or a generator such as rotation_z "
        "(repeat for several)",
    )
    parser.add_argument("--method", default="rk4", help="integrator (default rk4)")
    parser.add_argument(
        "--dt", type=float, default=0.01, help="step of the coarse rollout (default 0.01)"
    )
    parser.add_argument(
        "--steps", type=int, default=200, help="steps of the coarse rollout (default 200)"
    )
    parser.add_argument("--batch", type=int, default=8, help="number of trajectories (default 8)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the initial states (default 0)"
    )
    parser.add_argument("--t0", type=float, default=0.0, help="initial time (default 0)")
    parser.add_argument(
        "--config-shape",
        metavar="N,d",
        help="configuration shape for a Lagrangian callable, e.g. 2,3",
    )
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON")
    parser.add_argument("--plot", metavar="FILE", help="write the charge plot (PNG)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _load(target: str) -> Any:
    if ":" not in target:
        raise ValueError(f"target must be MODULE:OBJECT, got {target!r}")
    module_name, _, attr = target.partition(":")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    if module_name.endswith(".py"):
        raise ValueError(f"give a module name, not a file: {module_name[:-3].replace('/', '.')!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"cannot import module {module_name!r}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _shape(text: str | None) -> tuple[int, ...]:
    if text is None:
        raise ValueError("a Lagrangian callable needs --config-shape, e.g. --config-shape 2,3")
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ValueError(
            f"--config-shape must be comma-separated ints such as 2,3, got {text!r}"
        ) from None
    if not shape or min(shape) < 1:
        raise ValueError(f"--config-shape must be positive ints, got {text!r}")
    return shape


def _system_symmetries(system: Any, names: list[str]) -> list[Any]:
    """Resolve names against the system's own groups first (a boost carries its masses)."""
    groups = {}
    for item in [*system.symmetries, *system.broken]:
        for factor in getattr(item, "factors", ()):
            groups.setdefault(factor.name, factor)
    return [groups.get(name, name) for name in names]


def run(args: argparse.Namespace) -> int:
    """Run the check; exit 0 when every symmetry is conserved, 1 otherwise."""
    from symnet.noether.check import check
    from symnet.systems import System

    if args.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {args.batch}")
    obj = _load(args.target)
    if isinstance(obj, type) and issubclass(obj, System):
        obj = obj()
    rng = torch.Generator().manual_seed(args.seed)
    if isinstance(obj, System):
        q0, v0 = obj.sample_states(args.batch, rng)
        L, field = obj.lagrangian, obj.acceleration
        symmetries = _system_symmetries(obj, args.symmetry)
    elif callable(obj):
        shape = _shape(args.config_shape)
        q0 = torch.randn(args.batch, *shape, generator=rng, dtype=torch.float64)
        v0 = torch.randn(args.batch, *shape, generator=rng, dtype=torch.float64)
        L, field, symmetries = obj, None, list(args.symmetry)
    else:
        raise TypeError(f"{args.target} is neither a symnet system nor a callable Lagrangian")
    report = check(
        L,
        symmetries,
        q0,
        v0,
        dt=args.dt,
        steps=args.steps,
        method=args.method,
        t0=args.t0,
        seed=args.seed,
        progress=not args.no_progress,
        field=field,
    )
    print(report)
    if args.json:
        report.to_json(args.json)
    if args.plot:
        report.plot(args.plot)
    return 0 if report.all_conserved else 1

"""``symnet check MODULE:OBJECT --symmetry NAME ...``: the checker from the command line.

OBJECT is a :class:`symnet.systems.System` instance or class (its
``sample_states`` gives the initial states and its closed-form acceleration
the dynamics), or a Lagrangian callable ``L(q, qdot[, t])`` together with
``--config-shape`` (initial states from a seeded standard normal, dynamics from
the Euler-Lagrange equations by autodiff).

MODULE is imported by name. The current directory is searched *after* the
installed packages (it is appended to ``sys.path``, never put first), so a
file there such as ``matplotlib.py`` cannot shadow a package that symnet
imports; a module name that an installed module already takes resolves to the
installed one.

``--threads N`` (default 1) sets torch's thread count for the run and restores
it afterwards; ``--compile {auto,on,off}`` is the rollouts' ``compile``.

``--nproc N`` runs the check on N local processes: the command re-launches
itself under torchrun (:mod:`symnet._launch`). Inside a torchrun launch, the
command joins the default process group (gloo), the checker shards the
initial states across the ranks, and rank 0 alone prints the report, writes
the files and shows the progress bar; every rank exits with the same code.
An error on any rank is raised on all of them
(:func:`symnet._distributed.run_everywhere`) and printed once, by rank 0.

Exit codes: 0 when every symmetry is conserved, 1 when one is broken or
inconclusive, 2 for bad input (raised here as ``ValueError`` or ``TypeError``
and reported by :func:`symnet.cli.main` as one line on stderr). Output paths
are checked before the run, so a bad ``--json`` or ``--plot`` costs nothing.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from pathlib import Path
from typing import Any

import torch

from symnet._launch import nproc_argument

__all__ = ["COMPILE", "EPILOG", "configure", "run"]

#: The end of ``symnet check --help``: exit codes and how MODULE is found.
EPILOG = """\
exit codes:
  0  every symmetry is conserved
  1  one is broken or inconclusive (the report says which and why)
  2  bad input, reported as one line on stderr: an unknown or malformed option,
     a target that cannot be imported or built, an output path that cannot be
     written (checked before the run), or a run that cannot go on (a NaN/inf
     state, an implicit solve that does not converge: reduce --dt)

MODULE is imported by name; the current directory is searched after the
installed packages, so a file there cannot shadow one (matplotlib.py, ...).
--json and --plot write exactly the file named (missing folders are created);
the plot's format follows its extension (png, pdf, svg, ...; none: PNG).

several processes (torch.distributed):
  --nproc N re-runs the command under torchrun on this machine, as
    python -m torch.distributed.run --standalone --nproc-per-node N -m symnet check ...
  Each process checks its share of the --batch trajectories with --threads
  threads (default 1); the report is the single-process one (to round-off),
  printed once. On a cluster, launch it yourself (one torchrun per node):
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29500 -m symnet check MODULE:OBJECT -s NAME ...
  symnet check detects the torchrun environment and joins its process group.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``symnet check``, and its exit codes to its help."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
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
    parser.add_argument(
        "--masses",
        metavar="M1,M2,...",
        help="masses of a boost given by name (-s boost, -s boost_x): one per particle, or one "
        "for all (default: the system's masses, else read from the Lagrangian)",
    )
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE")
    parser.add_argument(
        "--plot", metavar="FILE", help="write the charge plot to FILE (format from its extension)"
    )
    parser.add_argument(
        "--compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="compile the rollouts with torch.compile: on, off, or auto when it pays off "
        "(default auto); the verdicts do not depend on it",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="torch threads during the check (default 1, the fastest for symnet's small "
        "tensors; the setting is restored afterwards)",
    )
    parser.add_argument(
        "--nproc",
        type=nproc_argument,
        default=1,
        metavar="N",
        help="run on N local processes, launched with torchrun (default 1; see below)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _search_cwd_last() -> None:
    """Make the current directory importable without letting it shadow installed modules."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    importlib.invalidate_caches()  # a module written since the last import is found


def _shadow_hint(module_name: str, module: Any) -> str:
    """A hint when a file in the current directory lost to an installed module of its name."""
    top = module_name.partition(".")[0]
    cwd = Path.cwd()
    local = cwd / f"{top}.py"
    if not (local.is_file() or (cwd / top / "__init__.py").is_file()):
        return ""
    where = getattr(module, "__file__", None)
    if where is not None and Path(where).resolve().is_relative_to(cwd.resolve()):
        return ""
    return (
        f" (it was imported from {where}; the file {local.name} in the current directory is "
        "not used because installed modules come first: rename it)"
    )


def _load(target: str) -> Any:
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"target must be MODULE:OBJECT, got {target!r}")
    if module_name.endswith(".py"):
        raise ValueError(f"give a module name, not a file: {module_name[:-3].replace('/', '.')!r}")
    _search_cwd_last()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"cannot import module {module_name!r}: {exc}") from exc
    except (Exception, SystemExit) as exc:  # the module itself fails: syntax, runtime, exit
        raise ValueError(
            f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(
                f"module {module_name!r} has no attribute {attr!r}"
                + _shadow_hint(module_name, module)
            ) from None
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


def _masses(text: str) -> float | torch.Tensor:
    """``--masses``: one positive number, or comma-separated ones (a float64 tensor)."""
    try:
        values = [float(s) for s in text.split(",")]
    except ValueError:
        raise ValueError(
            "--masses must be comma-separated numbers, one per particle (or one for all), "
            f"such as 1,2.5; got {text!r}"
        ) from None
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"--masses must be finite and positive, got {text!r}")
    return values[0] if len(values) == 1 else torch.tensor(values, dtype=torch.float64)


def _needs_masses(name: str) -> bool:
    """Whether the symmetry ``name`` reads particle masses (a boost), for ``--masses``.

    Asked of :func:`symnet.groups.resolve_symmetries`: the name needs masses
    when resolving it calls ``infer_masses`` (for particles in 1 to 3 dimensions).
    """
    from symnet.groups import resolve_symmetries

    for d in (1, 2, 3):
        asked: list[bool] = []

        def infer(asked: list[bool] = asked) -> float:
            asked.append(True)
            return 1.0

        try:
            resolve_symmetries(name, (2, d), infer_masses=infer)
        except (ValueError, TypeError):
            continue
        return bool(asked)
    return False


def _system_symmetries(system: Any, names: list[str], keep_boosts: bool) -> list[Any]:
    """Resolve names against the system's own groups first (a boost carries its masses).

    With ``keep_boosts`` a boost stays a name, so that ``--masses`` applies to it.
    """
    groups = {}
    for item in [*system.symmetries, *system.broken]:
        for factor in getattr(item, "factors", ()):
            groups.setdefault(factor.name, factor)
    return [
        name if keep_boosts and _needs_masses(name) else groups.get(name, name) for name in names
    ]


def _outputs(args: argparse.Namespace) -> None:
    """Refuse ``--json`` / ``--plot`` paths that cannot be written, before the run."""
    from symnet._report_io import output_path, plot_format

    if args.json is not None:
        output_path(args.json, "--json")
    if args.plot is not None:
        try:
            plot_format(args.plot, "--plot")
        except ImportError:
            raise ValueError("--plot needs matplotlib: pip install 'symnet[plot]'") from None
    if args.json is not None and args.plot is not None:
        if Path(args.json).resolve() == Path(args.plot).resolve():
            raise ValueError(f"--json and --plot name the same file {args.json!r}")


def _write(option: str, path: str, write: Any) -> None:
    try:
        write(path)
    except OSError as exc:  # checked before the run; this is a race or a full disk
        raise ValueError(f"{option}: cannot write {path!r}: {exc.strerror or exc}") from exc


#: ``--compile`` -> the ``compile`` argument of :func:`symnet.noether.check`.
COMPILE = {"auto": "auto", "on": True, "off": False}


def run(args: argparse.Namespace) -> int:
    """Run the check with ``--threads`` threads; exit 0 when every symmetry is conserved, else 1.

    With ``--nproc N > 1`` outside a torchrun launch, the command runs again
    under torchrun on N processes (its exit code is returned); inside a
    launch, this process joins the default process group for the check.
    """
    from symnet import _launch
    from symnet._threads import threads

    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    nproc = getattr(args, "nproc", 1)
    if _launch.launched():
        if nproc != 1:
            raise ValueError(
                f"--nproc {nproc}: this process already runs under torchrun "
                f"(WORLD_SIZE={os.environ.get('WORLD_SIZE')}); leave --nproc out and set the "
                "processes with torchrun's --nproc-per-node"
            )
    elif nproc > 1:
        argv = getattr(args, "argv", None)
        return _launch.relaunch(sys.argv[1:] if argv is None else argv, nproc, args.threads)
    with _launch.process_group(), threads(args.threads):
        return _check(args)


def _check(args: argparse.Namespace) -> int:
    """Check on every rank; rank 0 alone prints and writes (one process: rank 0)."""
    from symnet import _distributed
    from symnet.mechanics import ConvergenceError
    from symnet.noether.checker import check

    # each phase raises on every rank when it fails on one (none waits in a collective)
    L, symmetries, q0, v0, masses, field = _distributed.run_everywhere(lambda: _prepare(args))
    try:
        report = check(
            L,
            symmetries,
            q0,
            v0,
            dt=args.dt,
            steps=args.steps,
            method=args.method,
            t0=args.t0,
            rng=args.seed,
            progress=not args.no_progress,
            masses=masses,
            field=field,
            compile=COMPILE[args.compile],
        )
    except ConvergenceError as exc:  # a run that cannot go on, like a NaN state: exit 2
        raise ValueError(str(exc)) from exc
    writer = _distributed.rank() == 0
    _distributed.run_everywhere(lambda: _emit(args, report) if writer else None)
    return 0 if report.all_conserved else 1


def _emit(args: argparse.Namespace, report: Any) -> None:
    """Print the report and write the files that were asked for."""
    print(report)
    if args.json is not None:
        _write("--json", args.json, report.to_json)
    if args.plot is not None:
        _write("--plot", args.plot, report.plot)


def _prepare(args: argparse.Namespace) -> tuple[Any, list[Any], Any, Any, Any, Any]:
    """The check's inputs from the arguments: ``(L, symmetries, q0, v0, masses, field)``.

    Output paths are checked by rank 0 only, the one that writes them.
    """
    from symnet import _distributed
    from symnet.systems import System

    if args.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {args.batch}")
    if not 0 <= args.seed < 2**63:
        raise ValueError(f"--seed must be an int in [0, 2**63), got {args.seed}")
    masses = None if args.masses is None else _masses(args.masses)
    boosts = any(_needs_masses(name) for name in args.symmetry)
    if masses is not None and not boosts:
        raise ValueError(
            "--masses applies to a boost given by name (-s boost, -s boost_x), and none was "
            f"requested (--symmetry {' '.join(args.symmetry)})"
        )
    if _distributed.rank() == 0:
        _outputs(args)
    obj = _load(args.target)
    if isinstance(obj, type) and issubclass(obj, System):
        try:
            obj = obj()
        except Exception as exc:
            raise ValueError(
                f"cannot create {args.target} with no arguments ({type(exc).__name__}: {exc}); "
                "point at an instance instead"
            ) from exc
    rng = torch.Generator().manual_seed(args.seed)
    if isinstance(obj, System):
        L, field = obj.lagrangian, obj.acceleration
        symmetries = _system_symmetries(obj, args.symmetry, keep_boosts=masses is not None)
        if masses is None and boosts:
            masses = getattr(obj, "masses", None)
    elif callable(obj):
        shape = _shape(args.config_shape)
        L, field, symmetries = obj, None, list(args.symmetry)
    else:
        raise TypeError(f"{args.target} is neither a symnet system nor a callable Lagrangian")
    try:
        if isinstance(obj, System):
            q0, v0 = obj.sample_states(args.batch, rng)
        else:
            q0 = torch.randn(args.batch, *shape, generator=rng, dtype=torch.float64)
            v0 = torch.randn(args.batch, *shape, generator=rng, dtype=torch.float64)
    except RuntimeError as exc:
        if "allocat" not in str(exc):
            raise
        raise ValueError(
            f"--batch {args.batch} is too large: its initial states do not fit in memory"
        ) from exc
    return L, symmetries, q0, v0, masses, field

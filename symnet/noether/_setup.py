"""The validated options of `noether.check` and `noether.check_hamiltonian`.

Private module of :mod:`symnet.noether.checker`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from symnet import _distributed
from symnet._rng import as_generator
from symnet.noether._options import (
    bool_option,
    check_thresholds,
    compile_option,
    integer_option,
    real_option,
)
from symnet.noether.pipeline import RunSpec
from symnet.noether.verdict import VerdictThresholds

__all__ = ["Setup", "validate_options"]


@dataclass(frozen=True)
class Setup:
    """The validated arguments of one check."""

    form: str
    fname: str
    run: RunSpec
    thresholds: VerdictThresholds
    order: int
    n_elements: int
    rng: torch.Generator
    progress: bool
    chunk_size: int | None
    distributed: bool

    @property
    def state_names(self) -> tuple[str, str]:
        return ("q0", "qdot0") if self.form == "lagrangian" else ("q0", "p0")

    @property
    def arg_names(self) -> tuple[str, str]:
        return ("q", "qdot") if self.form == "lagrangian" else ("q", "p")


def validate_options(form: str, fn: Any, options: dict[str, Any]) -> Setup:
    """The checked options of a ``check`` (``form="lagrangian"``) or ``check_hamiltonian``."""
    from symnet.mechanics import get_integrator

    fname = "L" if form == "lagrangian" else "H"
    if not callable(fn):
        raise TypeError(f"{fname} must be callable, got {type(fn).__name__}")
    dt = real_option(options["dt"], "dt", "a positive finite number", lambda x: 0 < x < math.inf)
    steps = integer_option(options["steps"], "steps", 2)
    t0 = real_option(options["t0"], "t0", "a finite number", math.isfinite)
    n_elements = integer_option(options["n_elements"], "n_elements", 1)
    rng = as_generator(options["rng"], default=0, name="rng")
    chunk_size = options["chunk_size"]
    if chunk_size is not None:
        chunk_size = integer_option(chunk_size, "chunk_size", 1)
    thresholds = check_thresholds(options["thresholds"], "thresholds")
    method = options["method"]
    compile = compile_option(options["compile"], "compile")
    return Setup(
        form=form,
        fname=fname,
        run=RunSpec(dt=dt, steps=steps, method=method, t0=t0, compile=compile),
        thresholds=thresholds,
        order=get_integrator(method).order,
        n_elements=n_elements,
        rng=rng,
        # bars on rank 0 only (under torch.distributed)
        progress=bool(options["progress"]) and _distributed.rank() == 0,
        chunk_size=chunk_size,
        distributed=bool_option(options["distributed"], "distributed"),
    )

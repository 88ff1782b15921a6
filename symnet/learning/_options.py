"""Validation of the options of :mod:`symnet.learning` (shared: :mod:`symnet._validate`)."""

from __future__ import annotations

from typing import Any

from symnet._deprecation import MISSING, renamed_argument
from symnet._rng import int_seed
from symnet._validate import flag, float_dtype, integer, real

__all__ = ["real", "integer", "flag", "float_dtype", "seed_from"]


def seed_from(rng: Any, seed: Any = MISSING, *, where: str) -> int:
    """The int seed of stochastic layers from ``rng=`` (or the deprecated ``seed=``).

    Parameters
    ----------
    rng : int, torch.Generator or None
        An int is the seed itself (any integer type); a generator gives one
        draw; None is seed 0.
    seed : Any
        The deprecated name's value (:data:`~symnet._deprecation.MISSING` when not passed).
    where : str
        The public function, for the DeprecationWarning.
    """
    name = "rng" if seed is MISSING else "seed"
    rng = renamed_argument("seed", "rng", seed, rng, where=where)
    return int_seed(rng, name)

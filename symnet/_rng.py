"""One vocabulary for randomness: ``rng``, an int seed or a ``torch.Generator``.

Private module. Every public function that draws random numbers takes
``rng=`` (keyword) and turns it into a generator with :func:`as_generator`:

- an ``int`` (any integer type, not bool) seeds a fresh CPU generator, so the
  same seed gives the same draws on every call;
- a ``torch.Generator`` is used as is (and advanced by the draws);
- ``None`` means the function's documented default (usually seed 0, so that
  results are reproducible unless randomness is asked for).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import torch

__all__ = ["RNG", "as_generator"]

#: What ``rng=`` accepts.
RNG = int | torch.Generator | None


def as_generator(rng: Any, *, default: int | None = 0, name: str = "rng") -> torch.Generator | None:
    """A ``torch.Generator`` from ``rng`` (int seed, generator or None).

    Parameters
    ----------
    rng : int, torch.Generator or None
        Seed, generator, or None for ``default``.
    default : int or None
        Seed used when ``rng`` is None; ``None`` returns ``None`` (torch's
        global generator).
    name : str
        Argument name for error messages.

    Returns
    -------
    torch.Generator or None

    Raises
    ------
    TypeError
        ``rng`` is neither an integer, a ``torch.Generator`` nor None.
    ValueError
        A negative seed.
    """
    if rng is None:
        return None if default is None else torch.Generator().manual_seed(default)
    if isinstance(rng, torch.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int seed or a torch.Generator, got bool {rng!r}")
    try:
        seed = operator.index(rng)
    except TypeError:
        raise TypeError(
            f"{name} must be an int seed or a torch.Generator, got {type(rng).__name__}"
        ) from None
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative seed, got {seed}")
    return torch.Generator().manual_seed(seed)

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

__all__ = ["RNG", "as_generator", "int_seed"]

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


def int_seed(rng: Any, name: str = "rng") -> int:
    """An int seed from ``rng``: the int itself, one draw of a generator, or 0 for None.

    For code that needs a seed rather than a generator (``torch.manual_seed``
    around stochastic layers). An int must lie in ``[0, 2**63 - 2]``.
    """
    from symnet._validate import integer

    if isinstance(rng, torch.Generator):
        return int(torch.randint(0, 2**62, (), generator=rng))
    return integer(0 if rng is None else rng, name, minimum=0, maximum=2**63 - 2)

"""Small utilities shared by the groups: axis names and a default-dtype context.

Examples
--------
>>> from symnet.groups.utils import axis_names
>>> axis_names("boost", 2)
['boost_x', 'boost_y']
>>> axis_names("translation", 4)[-1]
'translation_3'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["axis_names", "default_dtype", "euclidean_group", "particle_dim"]


def axis_names(prefix: str, dim: int) -> list[str]:
    """``prefix_x, prefix_y, prefix_z`` for ``dim <= 3``, else ``prefix_0, prefix_1, ...``."""
    if dim <= 3:
        return [f"{prefix}_{a}" for a in "xyz"[:dim]]
    return [f"{prefix}_{i}" for i in range(dim)]


def particle_dim(name: str, config_shape: tuple[int, ...]) -> int:
    """The ``d`` of a particle configuration shape ``S = (N, d)``.

    Raises
    ------
    ValueError
        ``S`` is not ``(N, d)``; the message names the symmetry ``name``.
    """
    if len(config_shape) != 2:
        raise ValueError(
            f"symmetry {name!r} acts on particles and needs configuration shape (N, d), "
            f"got {config_shape}"
        )
    return int(config_shape[-1])


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Temporarily set torch's default dtype.

    e3nn builds its so(3) generators in the default dtype, so a Wigner D of a
    float64 rotation computed under the float32 default is only accurate to
    about 1e-7; symnet evaluates it under the dtype of the data instead. Build
    e3nn modules under ``default_dtype(torch.float64)`` for float64 checks.
    """
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def euclidean_group(dim: int, *, permutations: bool = True, reflections: bool = False) -> Any:
    """``Translation(d) * Rotation(d)`` (times ``Reflection(d)``, ``Permutation()``): E(d) (x S_N).

    With ``reflections=True`` the group is E(d) including reflections (O(d) rather than SO(d)).

    Examples
    --------
    >>> from symnet.groups.utils import euclidean_group
    >>> euclidean_group(3)
    Translation(3) x Rotation(3) x Permutation()
    >>> euclidean_group(2, permutations=False, reflections=True)
    Translation(2) x Rotation(2) x Reflection(2)
    """
    from symnet.groups.permutation import Permutation
    from symnet.groups.reflection import Reflection
    from symnet.groups.rotation import Rotation
    from symnet.groups.translation import Translation

    group = Translation(dim) * Rotation(dim)
    if reflections:
        group = group * Reflection(dim)
    return group * Permutation() if permutations else group

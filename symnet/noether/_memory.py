"""How many trajectories a check integrates at once, and whether it fits in memory at all.

Private module of the verification pipeline (:mod:`symnet.noether.pipeline`).
"""

from __future__ import annotations

import os

__all__ = ["DEFAULT_CHUNK_BYTES", "chunk_and_memory", "trajectory_bytes"]

#: Default working set of one chunk of trajectories (``chunk_size=None``), in bytes.
DEFAULT_CHUNK_BYTES = 2**30


def _bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            x = n / size
            return f"{x:,.0f} {unit}" if x >= 1000 else f"{x:.3g} {unit}"
    return f"{n / 2**10:.3g} KiB"


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def trajectory_bytes(steps: int, n_values: int, n_gens: int) -> int:
    """Working set of one trajectory in a chunk: states at dt and dt/2 and charge arrays.

    ``3 steps + 2`` states of ``q`` and ``v`` (``n_values`` each) and four
    charge arrays per generator, each doubled for the copies made when the
    per-step lists are stacked.
    """
    states = 3 * steps + 2
    return 8 * states * 2 * (2 * n_values + 4 * max(n_gens, 1))


def chunk_and_memory(chunk_size: int | None, B: int, steps: int, n_values: int, n_gens: int) -> int:
    """Trajectories per chunk; refuses a check that cannot fit in memory at all.

    Parameters
    ----------
    chunk_size : int or None
        The user's choice; None: as many as fit in :data:`DEFAULT_CHUNK_BYTES`.
    B, steps, n_values, n_gens : int
        Batch, coarse steps, numbers per state, generators checked.

    Raises
    ------
    ValueError
        The reported charges and one trajectory alone exceed the machine's memory.
    """
    per_traj = trajectory_bytes(steps, n_values, n_gens)
    output = 8 * (steps + 1) * B * (n_gens + 1)
    need = output + per_traj
    total = _physical_memory()
    if total is not None and need > total:
        raise ValueError(
            f"steps={steps} for a batch of {B} would need at least {_bytes(need)} of memory "
            f"(the reported charges, shape (steps + 1, B) for {n_gens} generator(s), take "
            f"{_bytes(output)}, the states and charge arrays of one trajectory at dt and dt/2 "
            f"{_bytes(per_traj)}), more "
            f"than this machine's {_bytes(total)}: reduce steps or the batch"
        )
    if chunk_size is None:
        return max(1, min(B, DEFAULT_CHUNK_BYTES // per_traj))
    return min(B, chunk_size)

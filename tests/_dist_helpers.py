"""Launch a function on several CPU processes (gloo) and collect what each rank returns.

Shared by the multi-process tests. ``run_ranks(fn, world, tmp_path, *args)``
starts ``world`` processes with :func:`torch.multiprocessing.spawn`, joins them
in a ``torch.distributed`` group (gloo, a FileStore in ``tmp_path``: no port to
pick), calls ``fn(*args)`` on every rank and returns the list of the ranks'
results (anything :func:`torch.save` can store), in rank order. ``fn`` must be
defined at module level (it is pickled by name). An exception on a rank fails
the launch with that rank's traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp

__all__ = ["run_ranks"]


def _worker(
    rank: int, world: int, store: str, out: str, fn: Callable[..., Any], args: tuple
) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{store}", rank=rank, world_size=world
    )
    try:
        result = fn(*args)
        torch.save(result, os.path.join(out, f"rank{rank}.pt"))
        # no rank leaves (closing its connections) while another still reads from it
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


def run_ranks(fn: Callable[..., Any], world: int, tmp_path: Path, *args: Any) -> list[Any]:
    """``[fn(*args) on rank r for r in range(world)]``, each rank a spawned gloo process."""
    store, out = tmp_path / "store", tmp_path / "out"
    out.mkdir(exist_ok=True)
    mp.spawn(_worker, args=(world, str(store), str(out), fn, args), nprocs=world, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(world)]

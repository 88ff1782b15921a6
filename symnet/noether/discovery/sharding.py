"""The per-state work of a discovery, shared among ``torch.distributed`` ranks.

A discovery evaluates gradients and candidate fields at every sample state
(the expensive part: one ``vjp`` of ``L`` or ``H`` per state, forward
derivatives of every candidate) and stacks them into a matrix with a block of
rows per state. Under an active process group (:func:`symnet._distributed.active`)
:func:`sharded_rows` runs that work on this rank's contiguous part of the
batch (:func:`symnet._distributed.shard`) and gathers the rows of every rank
in rank order, which is batch order: every rank then holds the matrix that one
process would have built, and takes the same SVD of it. The spectrum, the cut,
the names and the verdicts are therefore the single-process ones on every rank.

Rows are gathered rather than Gram matrices ``M^T M`` summed: an exact
symmetry has a relative singular value of about 1e-16, which the Gram matrix
(whose eigenvalues are the squares) cannot resolve below about 1e-8, and the
Hamiltonian naming needs the per-state values of the nullspace functions.
The cost is the single-process memory for the stacked matrix on every rank:
``2 m + (2 n + 2) m`` numbers per state for :func:`~symnet.noether.discover`
(``m`` candidate coefficients, ``n`` configuration coordinates) and
``3 K + 2 n`` for :func:`~symnet.noether.discover_hamiltonian` (``K``
candidate functions).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from torch import Tensor

from symnet import _distributed
from symnet.noether._quantities import StateGradients, gradients

__all__ = ["sharded_rows", "part_gradients"]

_INDEX = re.compile(r"(first at index \()(\d+)")


def sharded_rows(
    work: Callable[[slice], tuple[Tensor, ...]], n: int, distributed: bool
) -> tuple[Tensor, ...]:
    """``work`` on this rank's part of ``range(n)``, its row blocks gathered in batch order.

    Parameters
    ----------
    work : callable
        ``work(part)`` returns tensors of shape ``(len(part), *F_i)``: the rows
        of the states ``part`` (a slice). It must handle an empty ``part``
        (a rank with no states; return empty tensors of the right trailing
        shape and dtype). Checks it makes of the whole batch run on every rank.
    n : int
        Number of states.
    distributed : bool
        Shard when a process group of several processes is active; False:
        ``work(slice(0, n))`` on every rank.

    Returns
    -------
    tuple of Tensor
        Shapes ``(n, *F_i)``, the same on every rank. An exception raised by
        ``work`` on any rank is raised on every rank.
    """
    if not (distributed and _distributed.active()):
        return work(slice(0, n))
    part = _distributed.shard(n)
    local = _distributed.run_everywhere(lambda: work(part))
    return tuple(_distributed.gather_rows(x) for x in local)


def part_gradients(
    fn: Callable, q: Tensor, v: Tensor, t: Tensor, name: str, start: int
) -> StateGradients:
    """:func:`~symnet.noether._quantities.gradients` at the states of a part of the batch.

    ``q``, ``v``, ``t`` are the states ``start, start + 1, ...`` of the whole
    batch; the batch index in an error about non-finite values of ``fn``
    counts from the start of the whole batch, as in one process.
    """
    try:
        return gradients(fn, q, v, t, name)
    except ValueError as exc:
        if start and exc.args and isinstance(exc.args[0], str):
            shifted = _INDEX.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + start}", exc.args[0])
            exc.args = (shifted, *exc.args[1:])
        raise

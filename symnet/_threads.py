"""``symnet.threads(n)``: torch's intra-op thread count for one block of code.

symnet's inner loops (vector fields, integrator steps, charges) run many
small tensor operations, where intra-op threads only add synchronisation:
one thread is the fastest setting for them (measured), and it does not
stall when another process competes for the cores. The command
line (``symnet check --threads``, default 1), ``symnet demo`` and
:func:`symnet.models.train` (``threads=1``) apply such a setting for the
duration of the call only; :func:`threads` is the same tool for user code.
The previous value is restored on exit, exceptions included, so the user's
global torch setting never changes behind their back.

torch is imported when the block is entered, not when symnet is imported.
"""

from __future__ import annotations

import numbers
from types import TracebackType
from typing import Any

__all__ = ["check_threads", "threads"]


def check_threads(n: Any, name: str = "threads") -> int | None:
    """``n`` validated: a positive int (any integer type, not bool) or None.

    Parameters
    ----------
    n : int or None
        Number of threads; None leaves torch's setting as it is.
    name : str
        The argument's name in error messages.

    Returns
    -------
    int or None

    Raises
    ------
    TypeError
        ``n`` is not an integer or None (a bool, a float, a string).
    ValueError
        ``n < 1``.
    """
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive int or None (leave torch's setting), got {n!r} "
            f"({type(n).__name__})"
        )
    if n < 1:
        raise ValueError(
            f"{name} must be a positive int or None (leave torch's setting), got {int(n)}"
        )
    return int(n)


class threads:  # noqa: N801 - used like a function: ``with symnet.threads(1):``
    """Run a block with ``torch.set_num_threads(n)``; restore the previous value after.

    Parameters
    ----------
    n : int or None
        Intra-op threads inside the block, ``>= 1``; None changes nothing
        (neither on entry nor on exit). Validated when the object is created.

    Raises
    ------
    TypeError, ValueError
        ``n`` is not a positive int or None (the message names ``threads``).

    Notes
    -----
    Only the intra-op count (``torch.get_num_threads``) is set; the
    inter-op pool cannot be resized once torch has started it. The previous
    value is read on entry and restored on exit, also when the block raises.
    Re-entrant: nested blocks restore their own previous value.

    Examples
    --------
    >>> import torch, symnet
    >>> before = torch.get_num_threads()
    >>> with symnet.threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """

    def __init__(self, n: int | None) -> None:
        self.n = check_threads(n, "threads")
        self._saved: list[int] = []

    def __enter__(self) -> threads:
        if self.n is not None:
            import torch

            self._saved.append(torch.get_num_threads())
            torch.set_num_threads(self.n)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.n is not None:
            import torch

            previous = self._saved.pop()
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)

    def __repr__(self) -> str:
        return f"symnet.threads({self.n!r})"

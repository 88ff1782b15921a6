"""When ``compile="auto"`` compiles a rollout: the predicted eager time of the rest.

Private module of :mod:`symnet.mechanics._stepping`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["AUTO_CACHED_SECONDS", "AUTO_COMPILE_SECONDS", "AUTO_WARMUP", "AutoRule"]

#: ``compile="auto"`` compiles when the predicted eager time of the remaining
#: steps exceeds this (seconds), for a function that still has to be compiled.
AUTO_COMPILE_SECONDS = 30.0
#: The same bound when the compiled function is already in the cache.
AUTO_CACHED_SECONDS = 0.1
#: Eager steps timed (after the first, checked one) before ``"auto"`` decides.
AUTO_WARMUP = 3


class AutoRule:
    """The decision of ``compile="auto"``, from the measured cost of eager steps.

    After the first step (eager and checked, not timed) the next ``warmup``
    steps are timed; the mean time per step times the steps left is the
    predicted eager time. Compile when it exceeds ``threshold`` seconds for a
    function still to compile, ``cached_threshold`` for one compiled already.
    Measured on a 2-core machine: compiling a whole rk4 step costs 1-3 s for
    a closed-form field and 20-26 s for an MLP Lagrangian, and the compiled
    steps run 2-5x faster, so compiling pays for itself from about 30 s of
    eager time on.

    Parameters
    ----------
    clock : callable
        ``clock() -> seconds`` (injectable for tests).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.perf_counter,
        warmup: int = AUTO_WARMUP,
        threshold: float = AUTO_COMPILE_SECONDS,
        cached_threshold: float = AUTO_CACHED_SECONDS,
    ) -> None:
        self.clock = clock
        self.warmup = warmup
        self.threshold = threshold
        self.cached_threshold = cached_threshold
        self.start: tuple[float, int] | None = None
        self.predicted: float | None = None

    def tick(self, done: int, total: int, cached: Callable[[], bool]) -> bool | None:
        """Call after each eager step: True to compile now, False never, None: keep timing."""
        now = self.clock()
        if self.start is None:
            self.start = (now, done)
            return None
        t0, d0 = self.start
        if done - d0 < self.warmup:
            return None
        self.predicted = (now - t0) / (done - d0) * (total - done)
        limit = self.cached_threshold if cached() else self.threshold
        return self.predicted > limit

"""One progress bar for every long-running function (``progress=True``).

Private module. :func:`progress` returns a tqdm bar when enabled, and a silent
stand-in with the same small interface otherwise, so callers never branch::

    with progress(enabled, total=steps, desc="train HNN", unit="step") as bar:
        for _ in range(steps):
            ...
            bar.update()
            bar.set_postfix({"loss": "1.2e-03"}, refresh=False)

tqdm is imported only when a bar is shown. :class:`RolloutTicks` turns the
``progress(done, total)`` callback of :func:`symnet.mechanics.rollout` into
advances of a bar counted in integration steps, so that a bar shows each
rollout advancing.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["CountedBar", "NoBar", "RolloutTicks", "progress"]


class NoBar:
    """The disabled bar: a context manager whose methods do nothing."""

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` (no-op)."""

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Set the text after the bar (no-op)."""

    def close(self) -> None:
        """Close the bar (no-op)."""

    def __repr__(self) -> str:
        return "NoBar()"


def progress(enabled: bool, total: int, desc: str, *, unit: str = "it", initial: int = 0) -> Any:
    """A progress bar (tqdm, on stderr) when ``enabled``, else a silent :class:`NoBar`.

    Parameters
    ----------
    enabled : bool
        Show the bar.
    total : int
        Number of units of work.
    desc : str
        Label shown before the bar (``"noether check"``, ``"train HNN"``).
    unit : str
        Name of one unit (``"step"``, ``"stage"``).
    initial : int
        Units already done (a resumed run).

    Returns
    -------
    tqdm.tqdm or NoBar
        A context manager with ``update(n=1)``, ``set_postfix(...)`` and
        ``close()``; the bar is left off the screen once closed.
    """
    if not enabled:
        return NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=False)


class RolloutTicks:
    """The ``progress(done, total)`` callback of one rollout of ``steps`` steps.

    Advances ``bar`` by the steps done since the last call, so that the bar
    counts integration steps over many rollouts. ``done`` is scaled from the
    rollout's ``total`` to ``steps``; it never moves the bar back (a rollout
    that restarts, e.g. after falling back from compiled to eager, is not
    counted twice). :meth:`finish` advances to ``steps``: the bar is exact
    after the rollout whatever the rollout reported.

    Parameters
    ----------
    bar : tqdm bar or NoBar
        Anything with ``update(n)``.
    steps : int
        The rollout's steps, ``>= 0``.
    """

    def __init__(self, bar: Any, steps: int) -> None:
        self.bar = bar
        self.steps = int(steps)
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        """Advance the bar to ``done`` of ``total`` steps of the rollout."""
        if total <= 0 or not math.isfinite(done) or done <= 0:
            return
        now = min(self.steps, (int(done) * self.steps) // int(total))
        if now > self.done:
            self.bar.update(now - self.done)
            self.done = now

    def finish(self) -> None:
        """Advance the bar to the end of the rollout."""
        if self.steps > self.done:
            self.bar.update(self.steps - self.done)
            self.done = self.steps

    def __repr__(self) -> str:
        return f"RolloutTicks(done={self.done}, steps={self.steps})"


class CountedBar:
    """A bar that counts its advances, to end exactly at a planned total.

    Parameters
    ----------
    bar : tqdm bar or NoBar
        The bar advanced.
    """

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.n = 0

    def update(self, n: int = 1) -> None:
        """Advance by ``n``."""
        self.n += n
        self.bar.update(n)

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Set the text after the bar."""
        self.bar.set_postfix(*args, **kwargs)

    def top_up(self, total: int) -> None:
        """Advance to ``total`` units counted here (work skipped on an early stop)."""
        if total > self.n:
            self.update(total - self.n)

    def __repr__(self) -> str:
        return f"CountedBar(n={self.n})"

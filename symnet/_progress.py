"""One progress bar for every long-running function (``progress=True``).

Private module. :func:`progress` returns a tqdm bar when enabled, and a silent
stand-in with the same small interface otherwise, so callers never branch::

    with progress(enabled, total=steps, desc="train HNN", unit="step") as bar:
        for _ in range(steps):
            ...
            bar.update()
            bar.set_postfix({"loss": "1.2e-03"}, refresh=False)

tqdm is imported only when a bar is shown.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NoBar", "progress"]


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

"""The :class:`History` of a training run (what :func:`symnet.models.train` returns)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["History"]


@dataclass
class History:
    """What :func:`train` did, epoch by epoch.

    Attributes
    ----------
    train_loss : list of float
        Mean batch loss of every epoch.
    val_loss : list of float
        Validation loss after every epoch (empty without ``val_data``).
    best_epoch : int or None
        1-based epoch of the lowest monitored loss (its weights are restored).
    best_loss : float
        That loss.
    steps : int
        Optimizer steps taken.
    stopped_early : bool
        Whether ``patience`` ended the run.
    seconds : float
        Wall time of the run (this call only, when resumed).
    target, loss, monitor : str
        What was fitted, with which loss, and which loss was monitored
        (``"val"`` or ``"train"``).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_loss: float = math.inf
    steps: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    target: str = ""
    loss: str = ""
    monitor: str = "train"

    @property
    def epochs(self) -> int:
        """Epochs completed."""
        return len(self.train_loss)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for JSON and checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Inverse of :meth:`as_dict`."""
        return cls(**d)

    def __repr__(self) -> str:
        last = f"{self.train_loss[-1]:.3e}" if self.train_loss else "-"
        val = f", val_loss={self.val_loss[-1]:.3e}" if self.val_loss else ""
        stop = ", stopped early" if self.stopped_early else ""
        return (
            f"History(epochs={self.epochs}, steps={self.steps}, train_loss={last}{val}, "
            f"best_epoch={self.best_epoch}, best_{self.monitor}_loss={self.best_loss:.3e}{stop})"
        )

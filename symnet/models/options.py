"""The option groups of :func:`symnet.models.train`: one frozen dataclass per concern.

``train(model, data, steps=...)`` needs none of them; pass one to change
what it groups (as diffrax groups a solver's step-size controller and
checkpointing):

- :class:`Optimization`: Adam's learning rate and weight decay, the
  learning-rate schedule, gradient clipping;
- :class:`Stopping`: early stopping and restoring the best weights;
- :class:`Checkpointing`: the checkpoint file and resuming from it;
- :class:`Rollout`: the window of ``target="rollout"``.

Every field is validated by :func:`~symnet.models.train` (the message names
the field). The flat keywords of earlier releases (``lr=``, ``patience=``,
``checkpoint=``, ``rollout_steps=``, ...) still work, with a
DeprecationWarning naming the new place (:data:`FLAT_KEYWORDS`).

Examples
--------
>>> from symnet.models import Optimization, Stopping
>>> Optimization(lr=1e-2, schedule="cosine")
Optimization(lr=0.01, weight_decay=0.0, schedule='cosine', clip_grad=None)
>>> Stopping(patience=5)
Stopping(patience=5, restore_best=True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symnet._deprecation import MISSING

__all__ = ["Checkpointing", "Optimization", "Rollout", "Stopping", "FLAT_KEYWORDS"]


@dataclass(frozen=True)
class Optimization:
    """How the weights are updated: Adam, a learning-rate schedule, gradient clipping.

    Parameters
    ----------
    lr : float
        Adam learning rate (finite, ``>= 0``).
    weight_decay : float
        Adam's L2 penalty (finite, ``>= 0``).
    schedule : {"constant", "cosine"}
        Learning rate constant, or decayed to 0 along a cosine over the run.
    clip_grad : float, optional
        Clip the gradient norm to this value (finite, ``> 0``).
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"
    clip_grad: float | None = None


@dataclass(frozen=True)
class Stopping:
    """When training stops before its last step, and which weights it keeps.

    Parameters
    ----------
    patience : int, optional
        Stop after this many (``>= 1``) epochs without a lower monitored loss
        (validation loss when ``val_data`` is given, else training loss).
    restore_best : bool
        Load the best epoch's weights at the end.
    """

    patience: int | None = None
    restore_best: bool = True


@dataclass(frozen=True)
class Checkpointing:
    """A checkpoint file rewritten (atomically) after every epoch.

    Parameters
    ----------
    path : str or Path
        The file (:mod:`symnet.models.checkpoint`); not a directory.
    resume : bool
        Continue from ``path`` when the file exists. It is read with
        ``torch.load(weights_only=True)``: a file holding other objects than
        tensors and plain types is refused (ValueError), never run.
    """

    path: str | Path
    resume: bool = False


@dataclass(frozen=True)
class Rollout:
    """The window of ``target="rollout"``: integrate the model, fit the recorded states.

    Parameters
    ----------
    steps : int
        Window length (``>= 1``).
    dt : float, optional
        Integration step (``> 0``); default: from the data's evenly spaced ``t``.
    method : str
        Integrator of :func:`symnet.mechanics.rollout`.
    """

    steps: int = 5
    dt: float | None = None
    method: str = "rk4"


#: Deprecated flat keyword of ``train`` -> (its option group's keyword, field).
FLAT_KEYWORDS: dict[str, tuple[str, str]] = {
    "lr": ("optimization", "lr"),
    "weight_decay": ("optimization", "weight_decay"),
    "schedule": ("optimization", "schedule"),
    "clip_grad": ("optimization", "clip_grad"),
    "patience": ("stopping", "patience"),
    "restore_best": ("stopping", "restore_best"),
    "checkpoint": ("checkpointing", "path"),
    "resume": ("checkpointing", "resume"),
    "rollout_steps": ("rollout", "steps"),
    "rollout_dt": ("rollout", "dt"),
    "rollout_method": ("rollout", "method"),
}

_GROUPS = {
    "optimization": Optimization,
    "stopping": Stopping,
    "checkpointing": Checkpointing,
    "rollout": Rollout,
}


def apply_flat_keywords(groups: dict[str, Any], flat: dict[str, Any]) -> dict[str, Any]:
    """Fold deprecated flat keywords into their option groups (with a DeprecationWarning each).

    Parameters
    ----------
    groups : dict
        ``{"optimization": Optimization | None, ...}`` as passed to ``train``.
    flat : dict
        The other keyword arguments ``train`` received.

    Returns
    -------
    dict
        The groups, each an instance (defaults where nothing was passed;
        ``checkpointing`` stays None without a path).

    Raises
    ------
    TypeError
        An unknown keyword, or a group of the wrong type.
    """
    import warnings

    for name, value in groups.items():
        cls = _GROUPS[name]
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")
    unknown = sorted(set(flat) - set(FLAT_KEYWORDS))
    if unknown:
        raise TypeError(f"train() got an unexpected keyword argument {unknown[0]!r}")
    changes: dict[str, dict[str, Any]] = {}
    for old, value in flat.items():
        if value is MISSING:
            continue
        group, fieldname = FLAT_KEYWORDS[old]
        cls = _GROUPS[group]
        warnings.warn(
            f"symnet.models.train: the argument {old}= is deprecated, use "
            f"{group}={cls.__name__}({fieldname}=...) instead",
            DeprecationWarning,
            stacklevel=3,
        )
        changes.setdefault(group, {})[fieldname] = value
    out = dict(groups)
    for group, fields in changes.items():
        current = out[group]
        if current is None:
            if group == "checkpointing" and fields.get("path") is None:
                if fields.get("resume"):
                    raise ValueError("resume=True needs checkpoint=path")
                continue
            out[group] = _GROUPS[group](**fields)
        else:
            out[group] = dataclasses.replace(current, **fields)
    for group in ("optimization", "stopping", "rollout"):
        if out[group] is None:
            out[group] = _GROUPS[group]()
    return out

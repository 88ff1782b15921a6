"""Checkpoints of :func:`symnet.models.train`: one file with weights, history and metadata.

File layout (``torch.save`` of a dict; schema ``"symnet.models.checkpoint/1"``)::

    {
        "schema",
        "symnet_version",
        "model_class",
        "model_config",
        "custom_module",
        "state_dict",  # weights after the last completed epoch
        "best_state_dict",  # weights of the best epoch (the monitored loss)
        "optimizer",
        "scheduler",
        "generator_state",
        "epoch",
        "step",
        "history",  # History.as_dict()
        "train_args",
    }  # target, lr, batch_size, seed, loss, ...

The file is written atomically (a temporary file, then ``os.replace``), so an
interrupted run leaves the previous checkpoint intact; ``train(...,
resume=True)`` continues from it with the same batches as an uninterrupted run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint", "SCHEMA"]

SCHEMA = "symnet.models.checkpoint/1"


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the schema and version) to ``path`` atomically."""
    from symnet import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"schema": SCHEMA, "symnet_version": __version__, **payload}, tmp)
    os.replace(tmp, path)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw dict of a checkpoint file (ValueError for a file of another kind)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    raw = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a symnet.models checkpoint (schema {SCHEMA})")
    return raw


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes
    ----------
    model : nn.Module
        The model with the chosen weights loaded.
    history : History
        Losses per epoch up to the checkpoint.
    epoch : int
        Epochs completed.
    metadata : dict
        ``model_class``, ``model_config``, ``train_args``, ``symnet_version``.
    """

    model: nn.Module
    history: Any
    epoch: int
    metadata: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f"Checkpoint(model={type(self.model).__name__}, epoch={self.epoch}, "
            f"best_epoch={self.history.best_epoch})"
        )


def _build(raw: dict[str, Any]) -> nn.Module:
    import symnet.models as models

    name = raw["model_class"]
    if raw.get("custom_module") or raw.get("model_config") is None:
        raise ValueError(
            f"the checkpoint's {name} was built around a custom module: pass model= "
            "(an instance of the same architecture) to load_checkpoint"
        )
    cls = getattr(models, name, None)
    if cls is None:
        raise ValueError(f"unknown model class {name!r}: pass model= to load_checkpoint")
    return cls(**raw["model_config"])


def load_checkpoint(
    path: str | Path, model: nn.Module | None = None, *, which: str = "best"
) -> Checkpoint:
    """Load a checkpoint written by :func:`~symnet.models.train`.

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    model : nn.Module, optional
        The model to load into (modified in place). Default: rebuilt from the
        stored class name and ``config()`` (symnet models with their default
        networks only).
    which : {"best", "last"}
        The weights of the best epoch or of the last completed one.

    Returns
    -------
    Checkpoint

    Examples
    --------
    >>> import tempfile, torch, symnet.models as sm
    >>> from symnet.systems import MassSpring
    >>> data = MassSpring().hnn_dataset(n_traj=4, generator=torch.Generator().manual_seed(0))
    >>> model = sm.HNN(config_shape=(1,), hidden=8)
    >>> path = tempfile.mkdtemp() + "/hnn.pt"
    >>> _ = sm.train(model, data, epochs=2, checkpoint=path, progress=False)
    >>> sm.load_checkpoint(path).epoch
    2
    """
    from symnet.models.training import History

    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    raw = read_checkpoint(path)
    if model is None:
        model = _build(raw)
    state = raw["best_state_dict"] if which == "best" else raw["state_dict"]
    model.load_state_dict(state)
    meta = {
        k: raw.get(k)
        for k in ("model_class", "model_config", "train_args", "symnet_version", "step")
    }
    return Checkpoint(model, History.from_dict(raw["history"]), int(raw["epoch"]), meta)

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

The file holds only tensors and plain Python types (dicts, lists, tuples,
strings, numbers, booleans, None) and is read with ``torch.load(...,
weights_only=True)``: loading never runs code from the file. A file that holds
other objects (a pickled class, a crafted ``__reduce__`` payload) is refused
with a ValueError, before any of it is executed; so is a file that is not a
symnet.models checkpoint. A model built with a callable ``activation`` (not
a name) has no plain-data config: its checkpoint asks for ``model=`` on load.

The file is written atomically (a temporary ``<name>.tmp``, then
``os.replace``), so an interrupted run leaves the previous checkpoint intact;
a failed write removes the temporary file. ``train(..., resume=True)``
continues from it with the same batches as an uninterrupted run.
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from symnet.models._options import choice

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint", "read_checkpoint", "SCHEMA"]

SCHEMA = "symnet.models.checkpoint/1"

_PLAIN = (str, int, float, bool, type(None), Tensor)


def plain_data(obj: Any, where: str) -> Any:
    """``obj`` checked to be plain data, with numpy scalars turned into Python numbers.

    A TypeError names ``where`` for anything that ``torch.load(weights_only=True)``
    would refuse (classes, functions, other objects). Dicts (an ``OrderedDict``
    state dict too) are returned as they are when nothing had to be converted,
    so that their metadata survives.
    """
    if isinstance(obj, np.generic) and not isinstance(obj, (np.str_, np.bytes_)):
        return obj.item()
    if isinstance(obj, _PLAIN) or isinstance(obj, torch.dtype):
        return obj
    if isinstance(obj, Mapping):
        changed = not isinstance(obj, dict)
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"{where} has a key {k!r} of type {type(k).__name__}")
            out[k] = plain_data(v, f"{where}[{k!r}]")
            changed = changed or out[k] is not v
        return out if changed else obj
    if isinstance(obj, (list, tuple)):
        items = [plain_data(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return tuple(items) if isinstance(obj, tuple) else items
    raise TypeError(
        f"{where} is a {type(obj).__name__}: a checkpoint holds only tensors and plain "
        "Python types (dict, list, tuple, str, int, float, bool, None), so that it loads "
        "with torch.load(weights_only=True)"
    )


def _path(path: Any, name: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__} {path!r}")
    return Path(path)


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the schema and version) to ``path`` atomically.

    ``payload`` must hold only tensors and plain Python types (a TypeError
    names the first offending entry, before anything is written). The
    temporary ``<name>.tmp`` is removed when the write or the rename fails;
    the previous file at ``path`` is then left as it was.
    """
    from symnet import __version__

    path = _path(path)
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
    body = {"schema": SCHEMA, "symnet_version": __version__}
    for key, value in payload.items():
        body[key] = plain_data(value, f"payload[{key!r}]")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(body, tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    return path


#: Entries every checkpoint has, with the type they must have.
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "model_class": str,
    "state_dict": Mapping,
    "best_state_dict": Mapping,
    "optimizer": Mapping,
    "generator_state": Tensor,
    "epoch": int,
    "history": Mapping,
}


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw dict of a checkpoint file, read safely (``weights_only=True``).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file holds objects other than tensors and plain types (it is not
        unpickled), is not a ``torch.save`` file, is not a symnet.models
        checkpoint, or misses an entry; the message says which.
    """
    path = _path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pickle protocol", category=UserWarning)
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        detail = ""
        if "WeightsUnpickler error:" in text:
            tail = text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation")[0]
            detail = " ".join(tail.split()).split(". ")[0].rstrip(".")
        raise ValueError(
            f"{path} is not a symnet.models checkpoint: torch.load(weights_only=True) refused "
            f"it{f' ({detail})' if detail else ''}. symnet.models reads files only that way, "
            "which never runs code from a file: a file that holds objects other than tensors "
            "and plain Python types, or that torch.save did not write, is refused"
        ) from None
    except Exception as err:  # noqa: BLE001 - any other failure: not a torch.save file
        first = str(err).splitlines()[0] if str(err) else ""
        raise ValueError(
            f"{path} is not a symnet.models checkpoint (not a readable torch.save file: "
            f"{type(err).__name__} {first})"
        ) from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a symnet.models checkpoint (schema {SCHEMA})")
    for key, kind in _REQUIRED.items():
        if key not in raw:
            raise ValueError(f"{path}: the checkpoint has no {key!r} entry")
        value = raw[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(
                f"{path}: the checkpoint's {key!r} is a {type(value).__name__}, expected "
                f"{getattr(kind, '__name__', kind)}"
            )
    for key in ("state_dict", "best_state_dict"):
        for name, value in raw[key].items():
            if not isinstance(value, Tensor):
                raise ValueError(
                    f"{path}: {key}[{name!r}] is a {type(value).__name__}, not a tensor"
                )
    if raw["generator_state"].dtype != torch.uint8:
        raise ValueError(f"{path}: the checkpoint's 'generator_state' is not a uint8 tensor")
    if raw["epoch"] < 0:
        raise ValueError(f"{path}: the checkpoint's epoch is negative ({raw['epoch']})")
    return raw


def load_weights(model: nn.Module, state: Mapping[str, Tensor], path: Path, which: str) -> None:
    """``model.load_state_dict(state)``, or a ValueError saying the weights do not fit."""
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as err:
        raise ValueError(
            f"the {which} weights of {path} do not fit the {type(model).__name__} given "
            f"(another architecture or size?): {str(err).strip()}"
        ) from None


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
    config = raw.get("model_config")
    if raw.get("custom_module") or config is None:
        raise ValueError(
            f"the checkpoint's {name} was built around a custom module or a callable "
            "activation (not stored in a checkpoint): pass model= (an instance of the same "
            "architecture) to load_checkpoint"
        )
    cls = getattr(models, name, None)
    if not (isinstance(cls, type) and issubclass(cls, models.PhysicsModel)):
        raise ValueError(f"unknown model class {name!r}: pass model= to load_checkpoint")
    if not isinstance(config, Mapping) or not all(isinstance(k, str) for k in config):
        raise ValueError(f"the checkpoint's model_config is not a dict of arguments: {config!r}")
    try:
        return cls(**config)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"the checkpoint's {name} could not be rebuilt from its config {config!r} "
            f"({err}): pass model= to load_checkpoint"
        ) from None


def load_checkpoint(
    path: str | Path, model: nn.Module | None = None, *, which: str = "best"
) -> Checkpoint:
    """Load a checkpoint written by :func:`~symnet.models.train`.

    Parameters
    ----------
    path : str or Path
        The checkpoint file. Read with ``torch.load(weights_only=True)``: a
        file holding anything but tensors and plain types is refused with a
        ValueError and none of its code runs.
    model : nn.Module, optional
        The model to load into (modified in place). Default: rebuilt from the
        stored class name and ``config()`` (symnet models with their default
        networks only).
    which : {"best", "last"}
        The weights of the best epoch or of the last completed one.

    Returns
    -------
    Checkpoint

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Not a symnet.models checkpoint, a file with objects other than
        tensors and plain types, or weights that do not fit ``model``.

    Examples
    --------
    >>> import tempfile, torch, symnet.models as sm
    >>> from symnet.systems import MassSpring
    >>> data = MassSpring().hnn_dataset(n_traj=4, rng=0)
    >>> model = sm.HNN(config_shape=(1,), hidden=8)
    >>> path = tempfile.mkdtemp() + "/hnn.pt"
    >>> ckpt = sm.Checkpointing(path)
    >>> _ = sm.train(model, data, epochs=2, checkpointing=ckpt, progress=False)
    >>> sm.load_checkpoint(path).epoch
    2
    """
    from symnet.models.history import History

    which = choice(which, "which", ("best", "last"))
    path = _path(path)
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module or None, got {type(model).__name__}")
    raw = read_checkpoint(path)
    history = history_from(raw, path, History)
    if model is None:
        model = _build(raw)
    state = raw["best_state_dict"] if which == "best" else raw["state_dict"]
    load_weights(model, state, path, which)
    meta = {
        k: raw.get(k)
        for k in ("model_class", "model_config", "train_args", "symnet_version", "step")
    }
    return Checkpoint(model, history, int(raw["epoch"]), meta)


def history_from(raw: dict[str, Any], path: Path, cls: type) -> Any:
    """The :class:`~symnet.models.History` of a checkpoint, or a ValueError naming the file."""
    try:
        return cls.from_dict(dict(raw["history"]))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: the checkpoint's history is malformed ({err})") from None

"""Shared output helpers of the reports (Noether, learning): JSON and matplotlib."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["jsonable", "dump_json", "pyplot"]


def jsonable(x: Any) -> Any:
    """``x`` with non-finite floats written as strings (``"inf"``, ``"nan"``) for strict JSON."""
    return str(x) if isinstance(x, float) and not math.isfinite(x) else x


def dump_json(data: dict[str, Any], path: str | Path | None = None, **kwargs: Any) -> str:
    """Serialize ``data`` as indented JSON, and write it to ``path`` if given."""
    text = json.dumps(data, indent=2, **kwargs)
    if path is not None:
        Path(path).write_text(text + "\n")
    return text


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend.

    Raises
    ------
    ImportError
        matplotlib is missing (install the ``plot`` extra: ``pip install 'symnet[plot]'``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("report.plot needs matplotlib: pip install 'symnet[plot]'") from exc
    return plt

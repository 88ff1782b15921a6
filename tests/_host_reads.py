"""Count device-to-host reads: ``with host_reads() as r: ...``, then ``r.count``.

On CUDA every ``.item()``, ``float(t)``, ``int(t)``, ``bool(t)``, ``if t:`` and
``t.tolist()`` of a device tensor waits for the device. The scalar reads go
through the aten op ``_local_scalar_dense``, which a dispatch mode counts on
the CPU too; ``tolist``, ``cpu`` and ``numpy`` do not dispatch on a CPU tensor
and are counted by wrapping those methods for the duration. Shared by the
tests that assert that per-step loops read nothing back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

__all__ = ["HostReads", "host_reads"]

_READ = torch.ops.aten._local_scalar_dense.default


class HostReads(TorchDispatchMode):
    """Counts the device-to-host scalar reads (``aten._local_scalar_dense``) in ``count``."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        if func is _READ:
            self.count += 1
        return func(*args, **(kwargs or {}))


@contextmanager
def host_reads() -> Iterator[HostReads]:
    """``with host_reads() as r: ...``; then ``r.count`` is the number of host reads."""
    mode = HostReads()
    saved = {name: getattr(torch.Tensor, name) for name in ("tolist", "cpu", "numpy")}

    def counting(method):  # noqa: ANN001, ANN202
        def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            with _disable_current_modes():
                mode.count += 1
                return method(self, *args, **kwargs)

        return wrapper

    try:
        for name, method in saved.items():
            setattr(torch.Tensor, name, counting(method))
        with mode:
            yield mode
    finally:
        for name, method in saved.items():
            setattr(torch.Tensor, name, method)

"""The cache of compiled artefacts behind :mod:`symnet.mechanics.compiled`.

Private module. An :class:`Artefact` is one ``torch.compile(fullgraph=True,
dynamic=False)`` function for one cache key: the field's source and
configuration, what is compiled (the field alone, or a whole step of a
method with its options) and the call signature (shapes, dtypes, device,
``requires_grad`` of the inputs, grad and inference mode). Each artefact
compiles a fresh copy of its function's code object, so that dynamo's own
per-code cache holds one entry per artefact and its recompile limit (8 per
code object) is never reached however many fields a process compiles.

The key holds the field's *source*, not the field object: two fields built
from the same Lagrangian with the same options (a repeated
``noether.check``) share their artefacts. An artefact keeps the function it
was compiled from (and so its source) alive; at most :data:`MAX_ENTRIES`
are kept, least recently used first out, and :func:`clear` drops them all.
"""

from __future__ import annotations

import inspect
import logging
import types
import warnings
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "Artefact",
    "CompileWarning",
    "MAX_ENTRIES",
    "COUNTS",
    "artefact",
    "contains",
    "clear",
    "signature",
    "field_key",
    "warn_eager",
]

#: Most artefacts kept (least recently used dropped first).
MAX_ENTRIES = 64

#: ``"compiled"``: artefacts compiled so far (first successful calls); ``"failed"``: failures.
COUNTS: Counter[str] = Counter()

_ENTRIES: OrderedDict[Hashable, Artefact] = OrderedDict()

# torch.jit deprecation warnings of torch modules that inductor imports when it first compiles
_TORCH_JIT = r"`torch\.jit\.script(_method)?` is deprecated"


class CompileWarning(RuntimeWarning):
    """``torch.compile`` failed; symnet ran the computation eagerly instead (same results)."""


class Artefact:
    """One compiled function; it compiles on its first call.

    Attributes
    ----------
    ready : bool
        Compiled (the first call succeeded).
    failure : str or None
        First line of the compiler's error, once compiling failed.
    """

    def __init__(self, fn: Callable, name: str, keep: Any) -> None:
        self.name = name
        self.keep = keep  # what the key refers to by identity, kept alive with the artefact
        self.ready = False
        self.failure: str | None = None
        self.error: Exception | None = None
        self.source = _fresh_code(fn, name)
        self.fn: Callable | None = None

    def _compile(self, args: tuple) -> None:
        """Build the compiled function for the devices of the first call's tensors."""
        on_cpu = all(a.device.type == "cpu" for a in _tensors(args))
        try:
            self.fn = torch.compile(
                self.source, fullgraph=True, dynamic=False, options=_options(on_cpu)
            )
        except Exception as err:  # raised by the first call, where it is handled
            self.error = err

    def __call__(self, *args: Any) -> Any:
        if self.ready:
            return self.fn(*args)
        if self.fn is None and self.error is None:
            self._compile(args)
        if self.error is not None:
            raise self.error
        quiet = logging.getLogger("torch._inductor.ir")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # "missing a c-shim implementation" notes of cpp_wrapper
        try:
            with warnings.catch_warnings():  # torch's own, from modules inductor imports
                warnings.filterwarnings("ignore", message=_TORCH_JIT, category=DeprecationWarning)
                out = self.fn(*args)
        finally:
            quiet.setLevel(level)
        self.ready = True
        COUNTS["compiled"] += 1
        return out

    def fail(self, err: BaseException, what: str) -> None:
        """Record a compiler failure and warn once, in one line naming its reason."""
        self.failure = _reason(err)
        COUNTS["failed"] += 1
        warn_eager(what, self.failure)


def _options(on_cpu: bool) -> dict[str, Any]:
    """Inductor options: on CPU, the generated wrapper in C++ rather than Python.

    ``cpp_wrapper`` calls the kernels and the library routines (matrix products,
    ``eigh``) from compiled code: measured on a 2-dof MLP Lagrangian at batch 8,
    a compiled rk4 step went from 0.51 to 0.36 ms (the per-call work of a small
    graph is mostly its wrapper), for about the same compile time.
    """
    return {"cpp_wrapper": True} if on_cpu else {}


def _tensors(args: Any) -> list[Tensor]:
    """The tensors among ``args`` (nested tuples and lists included)."""
    if isinstance(args, Tensor):
        return [args]
    if isinstance(args, (tuple, list)):
        return [t for a in args for t in _tensors(a)]
    return []


def _reason(err: BaseException) -> str:
    """The first line of an error (and the next one when the first ends with a colon)."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    text = " ".join(lines[:2]) if len(lines) > 1 and lines[0].endswith(":") else "".join(lines[:1])
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def warn_eager(what: str, reason: str) -> None:
    """The one warning line of a computation that runs eagerly instead of compiled."""
    warnings.warn(
        f"symnet: torch.compile failed for {what}, running it eagerly (same results as "
        f"compile=False): {reason}",
        CompileWarning,
        stacklevel=4,
    )


def _fresh_code(fn: Callable, name: str) -> Callable:
    """``fn`` with a copy of its code object (dynamo caches per code object)."""
    code = fn.__code__.replace(co_name=name)
    return types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)


def artefact(key: Hashable, build: Callable[[], tuple[Callable, str, Any]]) -> Artefact:
    """The artefact of ``key``, made with ``build() -> (fn, name, keep)`` when new."""
    found = _ENTRIES.get(key)
    if found is not None:
        _ENTRIES.move_to_end(key)
        return found
    fn, name, keep = build()
    made = _ENTRIES[key] = Artefact(fn, name, keep)
    while len(_ENTRIES) > MAX_ENTRIES:
        _ENTRIES.popitem(last=False)
    return made


def contains(key: Hashable) -> bool:
    """Whether ``key`` has an artefact that compiled successfully."""
    found = _ENTRIES.get(key)
    return found is not None and found.ready and found.failure is None


def clear() -> None:
    """Drop every artefact (and what they keep alive)."""
    _ENTRIES.clear()


def signature(*tensors: Any) -> tuple:
    """What a compiled graph is specialised on: shape, dtype, device, requires_grad, modes."""

    def one(x: Any) -> Any:
        if isinstance(x, Tensor):
            return (tuple(x.shape), x.dtype, x.device, x.requires_grad)
        if isinstance(x, (tuple, list)):
            return tuple(one(v) for v in x)
        return type(x).__name__

    return (
        tuple(one(x) for x in tensors),
        torch.is_grad_enabled(),
        torch.is_inference_mode_enabled(),
    )


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, tuple) and all(_plain(v) for v in value)


def _identity(obj: Any) -> tuple[Hashable, Any]:
    """A hashable identity of a callable and what to keep alive for it to stay valid.

    A bound method is a new object at every attribute access: it is
    identified by its instance and function.
    """
    if inspect.ismethod(obj):
        return ("method", id(obj.__self__), obj.__func__), (obj.__self__, obj.__func__)
    return ("object", id(obj)), obj


def field_key(field: Any) -> tuple[Hashable, Any] | None:
    """``(key, keep)`` of a field's compiled function, or None when it has no ``function``.

    A function with a ``traceable()`` method that holds the field's source
    (the Euler-Lagrange and Hamilton cores) is identified by that source,
    its type and its plain configuration attributes (``regularization``,
    ``max_condition``, ...); any other function by its own identity.
    """
    fn = getattr(field, "function", None)
    if fn is None:
        return None
    source = getattr(field, "source", None)
    owner = fn
    if callable(getattr(fn, "traceable", None)):
        try:
            held = vars(fn).values()
        except TypeError:
            held = ()
        if source is not None and any(v is source for v in held):
            owner = source
    ident, keep = _identity(owner)
    config: tuple = ()
    if owner is not fn:
        config = tuple(sorted((k, v) for k, v in vars(fn).items() if _plain(v)))
    key = (type(field), type(fn), ident, config, bool(field.uses_time))
    return key, keep

"""Compiled vector fields: ``torch.compile`` on a field's traceable function.

:func:`compile_field` returns the same field whose evaluations run through
``torch.compile`` (the inductor backend, ``fullgraph=True``, static shapes).
It compiles the field's :meth:`~symnet.mechanics.SecondOrderField.traceable`
function: for a Lagrangian or a Hamiltonian field the Euler-Lagrange or
Hamilton equations written with ``torch.func`` transforms only, which return
the acceleration together with a mask of the states whose mass matrix is
ill-conditioned; for a user's field, the user's function as written.

What stays as in the eager field:

- the first evaluation of each call signature (shapes, dtype, device,
  ``requires_grad``, grad and inference mode) runs eagerly through the
  guarded field, with every check of today (output type, shape and dtype,
  writes into the inputs, the autodiff probe of ``L`` or ``H``); the
  compiled function is used from the second evaluation on;
- where the mask says that a state's mass matrix is singular, the
  evaluation is repeated eagerly, which raises the same
  :class:`~symnet.mechanics.SingularMassMatrixError` as the eager field;
- inside a ``torch.func`` transform and for an empty batch the field runs
  eagerly;
- when the compiler fails (any exception from dynamo or inductor), the
  evaluation runs eagerly, the artefact is marked as failed and one
  :class:`CompileWarning` line names the reason; results are then the eager
  ones.

Gradients flow through a compiled field to its inputs and to the
parameters of a module ``L`` (AOTAutograd), so models can train through it.

Compiled artefacts are cached per source (the Lagrangian ``L``, the
Hamiltonian ``H``, or the user's function), field configuration, what is
compiled (the field, or a whole integrator step; see
:func:`~symnet.mechanics.rollout`) and call signature, so a second field
built from the same ``L`` reuses them; :func:`clear_cache` drops them. What
recompiles: a new batch size or state shape, dtype, device, a change of
grad mode or of which inputs require grad, and a new source object (a copy
of a module is a new source).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet.mechanics import _compile_cache as cache
from symnet.mechanics import _deferred
from symnet.mechanics._compile_cache import CompileWarning
from symnet.mechanics.field import VectorField, as_time, as_vector_field

__all__ = ["compile_field", "clear_cache", "CompileWarning", "can_trace_now"]


def can_trace_now(x: Tensor) -> bool:
    """Whether a compiled function may run on ``x`` now (not inside a torch.func transform)."""
    return x.shape[0] > 0 and torch._C._functorch.peek_interpreter_stack() is None


class CompiledFunction:
    """The function ``fn(x, y, t)`` of a compiled field (see the module docstring).

    Parameters
    ----------
    field : VectorField
        The eager field; its guarded function runs the eager evaluations.
    enabled : bool
        Whether to use compiled evaluations (a rollout with ``compile="auto"``
        turns them on when it decides to compile).
    """

    def __init__(self, field: VectorField, enabled: bool = True) -> None:
        self.guarded = field.fn
        self.field = field
        self.traceable = getattr(field, "function", None) is not None
        self.enabled = enabled
        self.recorded_graph = False  # an eager output required grad (a graph is recorded)
        self.artefacts: dict[tuple, cache.Artefact] = {}
        self.checked: set[tuple] = set()  # signatures evaluated eagerly (outputs checked)

    @property
    def what(self) -> str:
        """How warnings name the compiled function."""
        return self.field.label

    def _eager(self, x: Tensor, y: Tensor, t: Tensor) -> Any:
        out = self.guarded(x, y, t)
        first = out if isinstance(out, Tensor) else out[0]
        self.recorded_graph = self.recorded_graph or first.requires_grad
        return out

    def _artefact(self, x: Tensor, y: Tensor, t: Tensor) -> cache.Artefact | None:
        """The compiled function for this call, or None for an eager call."""
        if not (self.enabled and self.traceable) or not can_trace_now(x):
            return None
        sig = cache.signature(x, y, t)
        if self.guarded.pending:  # the field's first call: eager, with every check
            self.checked.add(sig)
            return None
        art = self.artefacts.get(sig)
        if art is None:
            # the key after the field's first call (its configuration may change then)
            key, keep = cache.field_key(self.field)
            key = (key, "field", sig)
            if sig not in self.checked and not cache.contains(key):
                self.checked.add(sig)  # a new signature: eager and checked, compiled next time
                return None
            field = self.field

            def build() -> tuple[Callable, str, Any]:
                traced = field.traceable()

                def compiled_field(x: Tensor, y: Tensor, t: Tensor) -> tuple[Any, Tensor | None]:
                    return traced(x, y, t)

                return compiled_field, "symnet_compiled_field", (keep, traced)

            art = self.artefacts[sig] = cache.artefact(key, build)
        return None if art.failure else art

    def __call__(self, x: Tensor, y: Tensor, t: Any) -> Any:
        if not isinstance(t, Tensor):
            t = as_time(t, x)
        art = self._artefact(x, y, t)
        if art is None:
            return self._eager(x, y, t)
        try:
            out, bad = art(x, y, t)
        except Exception as err:  # any compiler error: eager (an evaluation error is raised there)
            out = self._eager(x, y, t)  # an error of the evaluation itself is raised here
            art.fail(err, self.what)
            return out
        if bad is None:
            return out
        if _deferred.deferring():  # NaN where bad: the rollout reruns the step eagerly
            _deferred.note(bad)
            return out
        if bool(bad.any()):
            return self._eager(x, y, t)  # raises SingularMassMatrixError as the eager field
        return out

    def __repr__(self) -> str:
        return f"compiled({self.guarded!r})"


def compiled_copy(field: VectorField, enabled: bool = True) -> VectorField:
    """A shallow copy of ``field`` whose function is a :class:`CompiledFunction`."""
    if isinstance(field.fn, CompiledFunction):
        field.fn.enabled = field.fn.enabled or enabled
        return field
    out = copy.copy(field)
    out.fn = CompiledFunction(field, enabled)
    return out


def compile_field(field: VectorField | Callable) -> VectorField:
    """The same field, its evaluations compiled with ``torch.compile``.

    Parameters
    ----------
    field : VectorField or callable
        A field from :func:`~symnet.mechanics.lagrangian_vector_field`,
        :func:`~symnet.mechanics.hamiltonian_vector_field`, or a plain
        acceleration function ``f(q, v[, t])`` (wrapped as by
        :func:`~symnet.mechanics.as_vector_field`).

    Returns
    -------
    VectorField
        A copy of the field (same class, ``source``, ``label``, ``order``,
        ``uses_time``) that evaluates through the compiled function. The
        first call of each signature is eager and checked; later ones are
        compiled (the first compiled call compiles: 1-25 s). Values agree
        with the eager field to round-off; gradients flow to the inputs and
        to a module's parameters.

    Warns
    -----
    CompileWarning
        Once, when the compiler fails; the field then runs eagerly.

    Examples
    --------
    >>> import torch
    >>> from symnet.mechanics import lagrangian_vector_field
    >>> f = compile_field(lagrangian_vector_field(lambda q, v: 0.5 * (v**2 - q**2).sum(-1)))
    >>> q = torch.ones(4, 1, dtype=torch.float64)
    >>> f(q, torch.zeros_like(q))[:, 0]  # the first call runs eagerly, with every check
    tensor([-1., -1., -1., -1.], dtype=torch.float64)
    """
    return compiled_copy(as_vector_field(field), True)


def clear_cache() -> None:
    """Drop every compiled artefact that symnet keeps (the next use compiles again)."""
    cache.clear()

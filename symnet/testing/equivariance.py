r"""Assertions that a function is invariant or equivariant under a group.

Two complementary checks run, both in float64 by default on cast copies (the
caller's module and tensors are never modified):

**Finite elements.** ``n_samples`` random elements ``group.sample(...)``; for
a product group also ``max(1, n_samples // 8)`` random elements of each
continuous factor alone (rows ``"rotation sample 0"``, ``"translation sample
0"``, so that a failure names the factor that breaks); and every discrete
generator ``group.discrete_generators(...)`` (embedded alone). Each element
``g`` (element batch 1) is applied to the *whole* batch of inputs, so every
element is tested on all ``B`` rows and a failure names the element. For
each output ``y = fn(x)`` it compares ``lhs = fn(g.x)`` with ``rhs = g.y``
(equivariance) or ``rhs = y`` (invariance)::

    error = max|lhs - rhs| / scale,   scale = max(max|lhs|, max|rhs|)

**Lie algebra generators.** For each generator ``X`` of the continuous part,
the Lie derivative of ``fn`` along the infinitesimal action ``v_i =
group.act_infinitesimal(X, x_i, kind_i)`` of *all* floating inputs at once,
``J v``, must equal the infinitesimal action on the outputs, ``dy =
group.act_infinitesimal(X, y, out_kind)`` (zero for invariance). ``J v`` comes
from ``torch.func.jvp`` when it can trace ``fn``; a model that computes forces
with ``torch.autograd.grad`` (or calls ``requires_grad_``, or uses an
operation without a forward-mode formula such as ``torch.cdist``) falls back
to reverse mode twice (the double-vjp trick), and when that fails too (forces
computed with ``create_graph=False``), to a Richardson-extrapolated finite
difference of the finite action ``exp(s X)`` with its own error bound
(:mod:`symnet.testing._derivative` gives the formulas). The report says which
method ran (``report.derivative_method``). The residual ``R = J v - dy`` is
normalised by the size of the terms that make it up, so that exact
cancellation (``J v = 0`` for an invariant ``fn``) is not divided by zero::

    error = max|R| / scale,   scale = max|dy| + max_j sqrt(mean_p (J (v * z_p))_j^2)

with two Gaussian probes ``z_p`` (entries ``N(0, 1)``, drawn from the check's
``rng``; one with ``fast=True``). ``sqrt(mean_p (J (v * z_p))_j^2)`` estimates
``sqrt(sum_m (J_jm v_m)^2)``, the magnitude of the individual input
contributions ``J_jm v_m`` before they cancel, like the ``|dL/dq| |xi|``
normalisation of the Noether invariance error. Both scales are homogeneous of
degree one in ``fn`` and in ``v``, so the errors are scale-free.

A row passes when ``max|difference| <= atol + rtol * scale`` (plus the error
bound of a finite difference); ``rtol`` and ``atol`` default to
:data:`~symnet.testing.TOLERANCES` of the dtype, except for a module with
float32-accurate constants checked in float64 (below). A row whose difference
or scale is not finite (an output that is NaN or inf at a transformed input,
or a non-finite Lie derivative) fails. A check with no rows at all is refused
with a ``ValueError``: an empty check is no pass.

**Integer inputs.** Inputs of kind ``"label"`` (per-particle types ``(B, ...,
N)``, permuted with the particles) and ``"index"`` (particle indices such as
a per-graph ``edge_index`` ``(B, 2, E)``, relabelled by permutations) are
batched and acted on like the others, but never cast to the check's dtype and
never differentiated (no tangent). ``"constant"`` inputs are passed as they
are, without a batch axis.

**Vacuous checks.** An output that does not vary with the inputs (zero or
constant: a zero-initialised output layer) passes every row whatever the
model does. Such a check passes with ``report.vacuous = True``, a
``report.vacuous_reason`` naming the output and the fix, and a
:class:`~symnet.testing.SymmetryWarning`; with ``strict=True`` (or pytest's
``--symnet-strict``) it fails. An output varies when a tested element or a
random perturbation of the floating inputs changes it beyond round-off, so a
genuinely invariant model (its outputs change when its inputs move in other
directions) is not vacuous (:mod:`symnet.testing._vacuous` has the details).

**Input mutation.** ``fn`` gets copies of its inputs on every call, and a
function that changes one in place (``x += emb``) raises
:class:`~symnet.testing.InputMutationError` naming the input, instead of a
symmetry failure blamed on a group element.

**Speed.** When ``fn`` treats the rows of its batch independently (verified,
see :mod:`symnet.testing._stacked`), the transformed copies of the batch go
through ``fn`` in one call, and the Lie derivatives in one forward-mode pass.
A module is not deep-copied: it runs through ``torch.func.functional_call``
with copies of its parameters and buffers cast to the check's dtype (Python
state that its ``forward`` changes in place, such as a list it appends to,
is the user's own). ``fast=True`` tests 2 random elements of the group (no
per-factor samples), every discrete generator, and every Lie derivative with
one probe.

The generator check is scale-free; the finite elements are not quite:
translations, boosts and time shifts are drawn at the group's own ``scale``
(1 by default, e.g. ``Translation(3, scale=...)``). Data much smaller than
that loses digits to the shift itself (points of size 1e-5 moved by 1 keep
about 11 digits), so match the group's scale to the data.

Permutations act on the particle axis of the inputs' ``N`` particles. An
output of kind ``point``/``vector``/``scalar`` with another number of entries
on that axis (a centre of mass of shape ``(B, 1, d)``) is not indexed by the
particles, and permutations leave it alone.

e3nn modules built under torch's default float32 dtype carry Clebsch-Gordan
buffers accurate only to about 1e-7 (relative errors of 1e-10 to 1e-7 after
``.double()``, depending on the irreps). A module with float32 parameters or
buffers (or float64 buffers holding float32-accurate values) checked in
float64 is therefore judged with ``rtol=1e-5``
(:data:`~symnet.testing._tolerances.FLOAT32_CONSTANTS_RTOL`; a broken module
shows errors of 1e-2 to 1), and the report says so (``tolerance_note``).
Explicit ``rtol``/``atol`` override it; for a float64-tight check build the
module in float64::

    from symnet.groups.utils import default_dtype

    with default_dtype(torch.float64):
        tp = o3.FullyConnectedTensorProduct("1o", "1o", "0e + 1e + 2e")

(loading a float32 ``state_dict`` into it brings the inaccurate buffers
back), or check in float32 with ``dtype=torch.float32``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._deprecation import MISSING, renamed_argument
from symnet._rng import as_generator
from symnet.groups import Generator, Group
from symnet.testing._run import fn_name, run_check
from symnet.testing.report import SymmetryReport

__all__ = ["assert_invariant", "assert_equivariant"]


def assert_invariant(
    fn: Callable[..., Any],
    group: Group | Generator,
    inputs: Tensor | tuple[Tensor, ...],
    kinds: Any,
    *,
    n_samples: int | None = None,
    rng: int | torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    atol: float | None = None,
    rtol: float | None = None,
    t: Tensor | float | None = None,
    check_generators: bool = True,
    check_elements: bool = True,
    strict: bool | None = None,
    fast: bool = False,
    generator: Any = MISSING,
    seed: Any = MISSING,
) -> SymmetryReport:
    """Assert ``fn(g.x) == fn(x)`` for group elements and ``L_X fn = 0`` for generators.

    Parameters
    ----------
    fn : callable
        ``fn(*inputs)`` returning a tensor or a tuple of tensors, each of
        shape ``(B, ...)`` (one row per input row, not empty). An
        ``nn.Module`` runs with copies of its parameters and buffers cast to
        ``dtype``; its train/eval mode is kept (call ``.eval()`` first if it
        uses dropout). ``fn`` gets fresh copies of its inputs on every call
        and must not modify them (:class:`~symnet.testing.InputMutationError`).
    group : Group or Generator
        E.g. ``Translation(3) * Rotation(3) * Permutation()``; a single
        :class:`~symnet.groups.Generator` is checked as its one-parameter
        group (:class:`~symnet.groups.OneParameterGroup`).
    inputs : Tensor or tuple of Tensor
        Each of shape ``(B, ...)`` laid out as its kind requires: points and
        vectors ``(B, ..., N, d)``, per-particle scalars ``(B, ..., N, C)``,
        globals ``(B, ..., C)``, times ``(B, ...)``, irreps ``(B, ..., dim)``;
        ``B >= 1`` and ``N >= 1``. Never modified.
    kinds : kind or tuple of kinds
        One per input: ``"point"``, ``"vector"``, ``"scalar"``, ``"global"``,
        ``"time"``, ``"label"`` (per-particle integer types ``(B, ..., N)``),
        ``"index"`` (particle indices ``(B, ..., E)``), ``"constant"`` (an
        integer tensor passed unchanged, not batched), any other kind of
        :mod:`symnet.groups` (``"axial"``, ``"pseudoscalar"``), a
        :class:`~symnet.groups.Kind`, or e3nn Irreps.
    n_samples : int, optional
        Number of random group elements of the whole group (each applied to
        the whole batch); default 8 (2 with ``fast=True``).
    rng : int or torch.Generator, optional
        Source of randomness for elements and probes: a seed or a generator;
        default seed 0.
    dtype : torch.dtype
        Dtype of the check (default float64, whatever the dtype of ``fn``).
    atol, rtol : float, optional
        Override :data:`~symnet.testing.TOLERANCES` ``[dtype]``.
    t : Tensor or float, optional
        Time at which boosts act on points (``q -> q + t u``), scalar or shape
        ``(B,)``. Default: the first input of kind ``"time"`` with shape
        ``(B,)``, if any, else none (boosts then act on velocities only).
    check_generators : bool
        Check the infinitesimal condition for every Lie algebra generator
        (forward-mode AD, else reverse mode twice, else finite differences).
    check_elements : bool
        Check random finite elements and the discrete generators.
    strict : bool, optional
        Fail a vacuous check (outputs that do not depend on the inputs)
        instead of warning with a :class:`~symnet.testing.SymmetryWarning`.
        Default False, or True under pytest's ``--symnet-strict``.
    fast : bool
        Fewer checks for large suites: 2 random elements, no per-factor
        samples, one probe per Lie derivative (every discrete generator and
        every generator still checked).
    generator, seed
        Deprecated names of ``rng``.

    Returns
    -------
    SymmetryReport
        Per-element and per-generator relative errors; ``str()`` is a table;
        ``derivative_method``, ``vacuous``/``vacuous_reason`` and
        ``tolerance_note`` say how the check ran.

    Raises
    ------
    AssertionError
        A :class:`~symnet.testing.SymmetryAssertionError` naming the element
        or generator, the output, the error and the tolerance; an output
        that is NaN or inf at a transformed input (or a non-finite Lie
        derivative) always fails.
    TypeError, ValueError
        Bad arguments, naming the argument and what was expected (an integer
        input with a floating kind names ``"label"``, ``"index"`` and
        ``"constant"``); outputs without the leading batch axis ``B``; a
        dtype mismatch inside ``fn`` (a tensor it holds that the cast cannot
        reach), with the remedy.
    InputMutationError
        ``fn`` modified one of its inputs in place (a ``ValueError``).
    ValueError
        A check that would test nothing: ``B = 0``, no particles, an empty
        output, or no check left to run (both checks switched off, or
        ``n_samples=0`` without generators for a group with no discrete
        generators). An empty check is an error, never a pass.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Permutation, Rotation, Translation
    >>> from symnet.testing import assert_invariant
    >>> def pair_distances(q):  # (B, N, 3) -> (B,)
    ...     i, j = torch.triu_indices(q.shape[-2], q.shape[-2], 1)
    ...     return (q[..., i, :] - q[..., j, :]).norm(dim=-1).sum(-1)
    >>> q = torch.randn(4, 5, 3)
    >>> G = Translation(3) * Rotation(3) * Permutation()
    >>> report = assert_invariant(pair_distances, G, q, "point")
    >>> report.passed, sorted(report.generator_errors)[:2], report.derivative_method
    (True, ['rotation_x', 'rotation_y'], 'jvp')
    >>> z = torch.randint(0, 3, (4, 5))  # atom types: kind "label", never cast
    >>> def typed(q, z):
    ...     return pair_distances(q) * (1 + z.sum(-1))
    >>> assert_invariant(typed, G, (q, z), ("point", "label")).passed
    True
    """
    rng = _rng(rng, generator, seed, "symnet.testing.assert_invariant")
    return run_check(
        fn, group, inputs, kinds, None, invariant=True, n_samples=n_samples, rng=rng,
        dtype=dtype, atol=atol, rtol=rtol, t=t, check_generators=check_generators,
        check_elements=check_elements, strict=strict, fast=fast,
    )  # fmt: skip


def assert_equivariant(
    fn: Callable[..., Any],
    group: Any = None,
    inputs: Tensor | tuple[Tensor, ...] | None = None,
    in_kinds: Any = None,
    out_kinds: Any = None,
    *,
    n_samples: int | None = None,
    rng: int | torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    atol: float | None = None,
    rtol: float | None = None,
    t: Tensor | float | None = None,
    check_generators: bool = True,
    check_elements: bool = True,
    strict: bool | None = None,
    fast: bool = False,
    generator: Any = MISSING,
    seed: Any = MISSING,
) -> SymmetryReport:
    """Assert ``fn(g.x) == g.fn(x)`` for group elements and ``L_X fn = X.fn`` for generators.

    A symnet layer declares its ``group``, ``in_kinds`` and ``out_kinds``, so
    ``assert_equivariant(layer, inputs)`` is the whole test; arguments given
    explicitly override the declaration. A layer whose ``out_kinds``
    attribute is ``None`` (an invariant wrapper) declares every output
    invariant, and is checked as :func:`assert_invariant` would.

    Parameters
    ----------
    fn : callable
        ``fn(*inputs)`` returning a tensor or a tuple of tensors, one per
        entry of ``out_kinds``, each laid out as its kind requires.
    group : Group or Generator, optional
        The group (a generator is checked as its one-parameter group).
        Default: ``fn.group``.
    inputs : Tensor or tuple of Tensor
        Each of shape ``(B, ...)``, as for :func:`assert_invariant`.
        ``assert_equivariant(layer, inputs)`` passes them second.
    in_kinds : kind or tuple of kinds, optional
        One per input. Default: ``fn.in_kinds``. An integer input that every
        group leaves alone (a graph's ``edge_index``) has kind
        ``"constant"``: it is passed as it is, without a batch axis, a cast
        or a tangent.
    out_kinds : kind or tuple of kinds, optional
        One per output: how the outputs transform. Default: ``fn.out_kinds``.
    n_samples, rng, dtype, atol, rtol, t, check_generators, check_elements, strict, fast
        As for :func:`assert_invariant`; ``t`` is also used to act on outputs.
    generator, seed
        Deprecated names of ``rng``.

    Returns
    -------
    SymmetryReport
        Per-element and per-generator relative errors.

    Raises
    ------
    AssertionError
        A :class:`~symnet.testing.SymmetryAssertionError` naming the element
        or generator, the output, the error and the tolerance (non-finite
        outputs at transformed inputs always fail).
    TypeError, ValueError
        As for :func:`assert_invariant`, including the refusal of a check
        that would test nothing.

    Examples
    --------
    >>> import torch
    >>> from e3nn import o3
    >>> from symnet.groups import Rotation
    >>> from symnet.testing import assert_equivariant
    >>> def centre(q):  # (B, N, 3) -> (B, 1, 3), a point
    ...     return q.mean(-2, keepdim=True)
    >>> q = torch.randn(4, 5, 3)
    >>> assert_equivariant(centre, Rotation(3), q, "point", "point").passed
    True
    >>> lin = o3.Linear("1o", "1o")  # float32 weights: exact after casting
    >>> assert_equivariant(lin, Rotation(3), torch.randn(4, 3), "1o", "1o").passed
    True
    >>> from symnet.nn import EGNN
    >>> egnn = EGNN(in_features=2, hidden=8, out_features=2, n_layers=1)
    >>> assert_equivariant(egnn, (torch.randn(3, 5, 2), torch.randn(3, 5, 3))).passed
    True
    """
    rng = _rng(rng, generator, seed, "symnet.testing.assert_equivariant")
    if inputs is None and group is not None and not isinstance(group, (Group, Generator)):
        inputs, group = group, None  # assert_equivariant(layer, inputs)
    if inputs is None:
        raise TypeError(
            "assert_equivariant needs inputs: assert_equivariant(fn, group, inputs, ...)"
        )
    group = _declared(fn, "group", group)
    in_kinds = _declared(fn, "in_kinds", in_kinds)
    invariant = out_kinds is None and hasattr(fn, "out_kinds") and fn.out_kinds is None
    if not invariant:  # (a layer declaring out_kinds = None has invariant outputs)
        out_kinds = _declared(fn, "out_kinds", out_kinds)
    return run_check(
        fn, group, inputs, in_kinds, out_kinds, invariant=invariant, n_samples=n_samples,
        rng=rng, dtype=dtype, atol=atol, rtol=rtol, t=t, check_generators=check_generators,
        check_elements=check_elements, strict=strict, fast=fast,
    )  # fmt: skip


def _rng(rng: Any, generator: Any, seed: Any, where: str) -> torch.Generator:
    """``rng`` as a generator (default seed 0), accepting the deprecated ``generator``/``seed``."""
    if (
        generator is not MISSING
        and generator is not None
        and not isinstance(generator, torch.Generator)
    ):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    rng = renamed_argument("generator", "rng", generator, rng, where=where)
    rng = renamed_argument("seed", "rng", seed, rng, where=where)
    return as_generator(rng, default=0, name="rng")  # type: ignore[return-value]


def _declared(fn: Any, attr: str, given: Any) -> Any:
    """An argument given explicitly, else what the layer ``fn`` declares as ``attr``."""
    if given is not None:
        return given
    value = getattr(fn, attr, None)
    if value is None:
        raise TypeError(
            f"assert_equivariant: {attr} is not given and {fn_name(fn)} does not declare "
            f"{attr} (symnet layers declare group, in_kinds and out_kinds); pass {attr}= "
            f"explicitly"
        )
    return value

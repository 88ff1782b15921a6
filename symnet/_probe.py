"""A probe: does a function's autodiff gradient see everything its value depends on.

A Lagrangian or Hamiltonian that computes part of its value under
``torch.no_grad()``, on ``q.detach()`` or through numpy returns correct values
but derivatives that miss that part: the Euler-Lagrange equations, Hamilton's
equations, the Noether charges and the discovered symmetries are then silently
wrong. :func:`check_autodiff` catches this by comparing, at a few states, the
directional derivative that ``torch.func.grad`` gives with a central finite
difference of the function's values along a random direction, separately for
each argument, so that the error names the argument whose gradient is lost.

A kink (a ReLU crossing between the finite difference's two points) does
not fool the test: a mismatch counts only where the finite differences at
two step sizes agree with each other (the value is smooth there) and both
disagree with the autodiff derivative, and only when it shows again along a
second random direction with a smaller step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.func import grad

from symnet._util import cast_callable, dtype_mismatch, with_time

__all__ = ["check_autodiff", "GradientMismatchError"]

#: (first step, relative tolerance) of the finite differences per dtype.
_STEPS = {torch.float64: (1e-3, 1e-4, 30.0), torch.float32: (1e-2, 0.1, 50.0)}


class GradientMismatchError(ValueError):
    """A function's autodiff derivative disagrees with finite differences of its values."""


def _directional_fd(f: Callable, args: list[Tensor], k: int, u: Tensor, h: float) -> Tensor:
    plus = [a + h * u if i == k else a for i, a in enumerate(args)]
    minus = [a - h * u if i == k else a for i, a in enumerate(args)]
    return (f(*plus) - f(*minus)) / (2.0 * h)


def _runs_in_float64(fn: Callable, q: Tensor, v: Tensor, t: Tensor) -> bool:
    """Whether a float64 copy of ``fn`` evaluates on one float64 state."""
    f64 = torch.float64
    try:
        with torch.no_grad():
            out = with_time(cast_callable(fn, f64), 2)(q[:1].to(f64), v[:1].to(f64), t[:1].to(f64))
    except Exception:  # noqa: BLE001 - any failure: probe in the states' own dtype
        return False
    return isinstance(out, Tensor) and out.dtype == f64


def check_autodiff(
    fn: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    *,
    name: str = "L",
    arg_names: Sequence[str] = ("q", "qdot"),
    n: int = 3,
    seed: int = 0,
) -> None:
    """Raise when ``fn``'s autodiff gradient misses part of its dependence on ``q`` or ``v``.

    Parameters
    ----------
    fn : callable
        ``fn(q, v)`` or ``fn(q, v, t)`` returning shape (B,).
    q, v : Tensor
        States, shape (B, *S); the first ``n`` (at most) are probed. They are
        perturbed by a random unit-scale direction so that special states
        (a particle at rest, the origin) are not special for the test.
    t : Tensor
        Times, shape (B,).
    name : str
        Name of ``fn`` in the error message (``"L"``, ``"H"``).
    arg_names : pair of str
        Names of ``q`` and ``v`` in the error message.
    n : int
        Number of states probed.
    seed : int
        Seed of the random directions.

    Raises
    ------
    GradientMismatchError
        (a ``ValueError``) the autodiff derivative along some argument
        disagrees with the finite differences of the values.
    TypeError
        ``fn`` cannot be differentiated with ``torch.func.grad``.
    """
    if q.dtype != torch.float64 and _runs_in_float64(fn, q, v, t):
        # finite differences are far sharper in float64: probe a float64 copy when it runs
        f64 = torch.float64
        fn64 = cast_callable(fn, f64)
        return check_autodiff(
            fn64, q.to(f64), v.to(f64), t.to(f64), name=name, arg_names=arg_names, n=n, seed=seed
        )
    dtype = q.dtype
    if dtype not in _STEPS:
        return None
    h1, tol, noise = _STEPS[dtype]
    f = with_time(fn, 2)
    gen = torch.Generator().manual_seed(seed)
    m = min(n, q.shape[0])
    if m == 0:
        return None
    tt = t[:m].detach()

    def total(a: Tensor, b: Tensor) -> Tensor:
        return f(a, b, tt).sum()

    def base() -> tuple[list[Tensor], tuple[Tensor, Tensor], float]:
        """Jittered probe states, the autodiff gradients there and the scale of the values."""
        args = []
        for x in (q, v):
            x = x[:m].detach()
            jitter = torch.randn(x.shape, generator=gen, dtype=dtype).to(x.device)
            args.append(x + 0.1 * (x.abs().mean() + 1.0) * jitter)
        try:
            with torch.no_grad():
                values = f(*args, tt)
            grads = grad(total, argnums=(0, 1))(*args)
        except (RuntimeError, TypeError) as exc:
            first = " ".join(str(exc).split())[:240]
            hint = dtype_mismatch(fn, dtype, first)
            raise TypeError(
                f"{name} could not be evaluated and differentiated with torch.func.grad ({first}); "
                + (
                    f"{hint}"
                    if hint
                    else f"{name} must be built from differentiable torch operations "
                    "(no .item(), float(), .numpy() or Python control flow on tensor values)"
                )
            ) from None
        return args, grads, float(values.detach().abs().max()) + 1.0

    eps = torch.finfo(dtype).eps

    def mismatch(k: int, h: float) -> tuple[Tensor, Tensor, Tensor]:
        """States where the autodiff and finite-difference derivatives along ``args[k]`` differ."""
        args, grads, fscale = base()
        x = args[k]
        u = torch.randn(x.shape, generator=gen, dtype=dtype).to(x.device)
        h = h * (float(x.abs().mean()) + 1.0)
        with torch.no_grad():
            fd1 = _directional_fd(lambda a, b: f(a, b, tt), args, k, u, h)
            fd2 = _directional_fd(lambda a, b: f(a, b, tt), args, k, u, h / 8.0)
        ad = (grads[k].detach() * u).reshape(m, -1).sum(dim=1)
        miss = (fd2 - ad).abs()
        limit = tol * torch.maximum(fd2.abs(), ad.abs()) + noise * eps * fscale * 8.0 / h
        smooth = (fd1 - fd2).abs() < 0.1 * miss
        return (miss > limit) & smooth, ad, fd2

    for k in range(2):
        bad, _, _ = mismatch(k, h1)
        if not bool(bad.any()):
            continue
        # a kink at or near the probe state can fake a mismatch once; a lost gradient shows
        # again at fresh states along a fresh direction with a smaller step
        bad, ad, fd = mismatch(k, h1 / 4.0)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            arg = arg_names[k]
            raise GradientMismatchError(
                f"{name}'s autodiff derivative with respect to {arg} disagrees with finite "
                f"differences of its values (directional derivative {float(ad[i]):.6g} by "
                f"autodiff, {float(fd[i]):.6g} by finite differences, at probe state {i}): "
                f"part of {name}'s dependence on {arg} is invisible to autodiff. Do not compute "
                f"{name} under torch.no_grad(), on {arg}.detach(), or through numpy/.item()"
            )

"""Particle masses read from the kinetic Hessian of a Lagrangian or Hamiltonian.

Private module. A boost given by name needs the masses: :func:`kinetic_masses`
reads them from ``d2L/dqdot2 = diag(m_i) x I_d`` (or ``d2H/dp2 = diag(1/m_i)
x I_d``) at the initial states, and :func:`check_masses` verifies that they
stay the same along a run.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import grad, jacfwd, vmap

from symnet._util import with_time
from symnet.noether._charge_values import _TINY

__all__ = ["check_masses", "kinetic_masses"]

#: Largest relative deviation of the kinetic Hessian from ``diag(m_i) x I_d``.
_MASS_RTOL = 1e-8
#: States at which the kinetic Hessian is evaluated.
_MASS_STATES = 16


def _kinetic_hessians(fn: Callable, q: Tensor, v: Tensor, t: Tensor) -> Tensor:
    """``d2 fn / dv2`` at the first states, shape ``(k, n, n)`` with ``n = prod(S)``."""
    f = with_time(fn, 2)

    def one(q1: Tensor, v1: Tensor, t1: Tensor) -> Tensor:
        return f(q1.unsqueeze(0), v1.unsqueeze(0), t1.unsqueeze(0)).reshape(())

    k = min(_MASS_STATES, q.shape[0])
    hess = vmap(jacfwd(grad(one, argnums=1), argnums=1))(q[:k], v[:k], t[:k])
    n = q[0].numel()
    return hess.reshape(k, n, n)


def _mass_deviation(hess: Tensor, diag: Tensor, d: int) -> Tensor:
    """Relative deviation of each Hessian ``(k, n, n)`` from ``diag(diag) x I_d``."""
    expected = torch.diag_embed(diag.repeat_interleave(d))
    return (hess - expected).abs().amax(dim=(-2, -1)) / diag.abs().max().clamp_min(_TINY)


def _masses_refused(name: str, form: str, why: str) -> ValueError:
    hess = "d2L/dqdot2" if form == "lagrangian" else "d2H/dp2"
    shape = "diag(m_1, ..., m_N) x I_d" if form == "lagrangian" else "diag(1/m_i) x I_d"
    return ValueError(
        f"symmetry 'boost' given by name needs the particle masses, and they cannot be read "
        f"from {name}: the kinetic Hessian {hess} {why}, not {shape} with the same constant "
        "masses at every state. Pass masses= (a positive number or a tensor of shape (N,)) "
        "or a Boost(dim, masses) group"
    )


def kinetic_masses(
    fn: Callable, q: Tensor, v: Tensor, t: Tensor, form: str = "lagrangian", name: str = "L"
) -> Tensor:
    """The particle masses read from the kinetic Hessian at states ``(q, v, t)``.

    For a Lagrangian ``d2L/dqdot2 = diag(m_1, ..., m_N) x I_d``; for a
    Hamiltonian ``d2H/dp2 = diag(1/m_1, ..., 1/m_N) x I_d``. The Hessian is
    evaluated at (up to 16 of) the states and must have that form, with the
    same positive masses at each, to relative precision ``1e-8``.

    Parameters
    ----------
    fn : callable
        ``L`` or ``H`` (float64).
    q, v : Tensor
        States, shape ``(B, N, d)``.
    t : Tensor
        Shape ``(B,)``.
    form : {"lagrangian", "hamiltonian"}

    Returns
    -------
    Tensor
        The masses, shape ``(N,)``, float64.

    Raises
    ------
    ValueError
        The Hessian does not have that form (the masses must then be given).
    """
    N, d = q.shape[1:]
    hess = _kinetic_hessians(fn, q, v, t)
    diag = hess[0].diagonal().reshape(N, d).mean(dim=-1)
    if not bool(torch.isfinite(hess).all()):
        raise _masses_refused(name, form, "is not finite at the initial states")
    if not bool((diag > 0).all()):
        raise _masses_refused(
            name, form, f"has non-positive diagonal blocks {diag.tolist()} at the initial states"
        )
    dev = _mass_deviation(hess, diag, d)
    worst = int(dev.argmax())
    if float(dev[worst]) > _MASS_RTOL:
        raise _masses_refused(
            name,
            form,
            f"at the initial states deviates from it by {float(dev[worst]):.1e} (relative, at "
            f"state {worst})",
        )
    masses = diag if form == "lagrangian" else 1.0 / diag
    return masses.detach().clone()


def check_masses(
    fn: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    masses: Tensor,
    form: str = "lagrangian",
    name: str = "L",
) -> None:
    """Raise unless the kinetic Hessian at ``(q, v, t)`` still matches ``masses`` (see above)."""
    N, d = q.shape[1:]
    diag = masses if form == "lagrangian" else 1.0 / masses
    dev = _mass_deviation(_kinetic_hessians(fn, q, v, t), diag.to(q), d)
    if not bool(torch.isfinite(dev).all()) or float(dev.max()) > _MASS_RTOL:
        raise _masses_refused(
            name,
            form,
            f"changes along the run (relative deviation {float(dev.max()):.1e} from the masses "
            f"{masses.tolist()} read at the initial states)",
        )

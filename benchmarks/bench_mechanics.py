"""Mechanics: Lagrangian vector field vs torchdyn's LNN; rk4 rollout vs torchdiffeq.

1. ``lagrangian_vector_field`` forward + backward (gradient of a loss on the
   accelerations with respect to the MLP's parameters) at batch 256, float32,
   ``L`` a 4-128-128-1 softplus MLP of ``(q, qdot)`` with ``q, qdot`` in R^2
   (double-pendulum size). Peer: ``torchdyn.models.LNN`` (1.0.6) wrapping the
   very same ``nn.Sequential`` (it loops over the batch with
   ``torch.autograd.functional`` Hessians and a pseudo-inverse). Also printed:
   the cost relative to the Hamiltonian vector field of the same MLP
   (``hamiltonian_vector_field``, one gradient), the price of the second
   derivatives and of the checked solve.
2. ``rollout(method="rk4")`` vs ``torchdiffeq.odeint(method="rk4")`` on the
   same field: N = 4 particles in 3D joined pairwise by springs, B = 256,
   1000 steps, float64, without gradients. torchdiffeq gets the first-order
   form ``(q, v) -> (v, a(q))``, once as a tuple state (its flattening wrapper)
   and once as one stacked tensor; the faster one is the reference. (torchdiffeq's
   "rk4" is Kutta's 3/8 rule, symnet's the classical RK4: both fourth order with
   four evaluations per step.)

3. The cost of the Lagrangian field relative to one gradient of ``L`` (the
   floor: ``torch.autograd.grad(L(q, qdot).sum(), (q, qdot))``), forward only
   under ``torch.no_grad()``, float32, for the double pendulum
   (``symnet.systems.DoublePendulum``) and ``L = 1/2 |qdot|^2 + 0.1 MLP([q,
   qdot])`` (4-128-128-1 softplus), batch 8 and 256: "before" is the
   per-sample ``torch.func`` path (still the path inside transforms), "after"
   the batched autograd path that plain calls take.
4. ``mass_structure="block"`` against the dense ``M`` for N = 16, 32, 64
   particles in 3D (a relativistic kinetic term with a position-dependent
   mass per particle, pairwise potential), float64, B = 8 and 64.

Times are medians over ``--repeats`` after a warm-up (sections 3 and 4: the
minimum, less sensitive to a shared machine), both libraries in the same
process on the same inputs, one after the other.

Run: ``.venv/bin/python benchmarks/bench_mechanics.py [--threads 1] [--repeats 7]`` (one
thread by default: on a shared two-core machine, two threads spin against each
other and make small-tensor timings erratic).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torchdiffeq import odeint

from symnet.mechanics import (
    SecondOrderField,
    hamiltonian_vector_field,
    lagrangian_vector_field,
    rollout,
)
from symnet.systems import DoublePendulum


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and spread (max - min) of ``repeats`` timed calls, in seconds."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times) - min(times)


def row(name: str, seconds: float, spread: float, ref: float | None, unit: str = "ms") -> str:
    scale = 1e3
    ratio = "" if ref is None else f"{ref / seconds:10.1f}x"
    return f"  {name:<52s} {seconds * scale:10.2f} {unit} (+-{spread * scale / 2:.1f}) {ratio}"


# ------------------------------------------------------------- 1. LNN vs torchdyn
def bench_lnn(repeats: int, peer_repeats: int) -> None:
    from torchdyn.models import LNN  # a peer, installed by `make bench`

    torch.manual_seed(0)
    B = 256
    mlp = nn.Sequential(
        nn.Linear(4, 128), nn.Softplus(), nn.Linear(128, 128), nn.Softplus(), nn.Linear(128, 1)
    )

    def L(q, qdot):  # noqa: N802
        return mlp(torch.cat([q, qdot], dim=-1))[:, 0]

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(B, 4, generator=gen)
    q, qdot = x[:, :2].clone(), x[:, 2:].clone()

    field = lagrangian_vector_field(L)
    peer = LNN(mlp)
    ham = hamiltonian_vector_field(L)

    def ours() -> torch.Tensor:
        mlp.zero_grad(set_to_none=True)
        qddot = field(q, qdot)
        qddot.pow(2).mean().backward()
        return qddot

    def theirs() -> torch.Tensor:
        mlp.zero_grad(set_to_none=True)
        out = peer(x.clone())  # LNN sets requires_grad on its input: give it a copy
        qddot = out[:, 2:]
        qddot.pow(2).mean().backward()
        return qddot

    def hamiltonian() -> None:
        mlp.zero_grad(set_to_none=True)
        qd, pd = ham(q, qdot)
        (qd.pow(2).mean() + pd.pow(2).mean()).backward()

    # same numbers first (states where the mass matrix is well conditioned)
    a, b = ours().detach(), theirs().detach()
    agree = float(((a - b).abs().amax(1) / a.abs().amax(1).clamp_min(1e-6)).median())

    t_ours, s_ours = median_time(ours, repeats)
    t_peer, s_peer = median_time(theirs, peer_repeats)
    t_ham, s_ham = median_time(hamiltonian, repeats)
    print(f"1. Lagrangian vector field, forward + backward, B = {B}, float32, 4-128-128-1 MLP")
    print(f"   median relative difference symnet vs torchdyn accelerations: {agree:.1e}")
    print(f"  {'':<52s} {'median':>13s} {'':>8s} {'speed-up':>10s}")
    print(row("torchdyn LNN (reference)", t_peer, s_peer, t_peer))
    print(row("symnet lagrangian_vector_field", t_ours, s_ours, t_peer))
    print(row("symnet hamiltonian_vector_field (same MLP)", t_ham, s_ham, t_peer))
    print(f"   symnet vs torchdyn: {t_peer / t_ours:.1f}x faster (target >= 50x)")
    print(f"   Lagrangian field / Hamiltonian field cost: {t_ours / t_ham:.1f}x")


# ------------------------------------------------------------- 2. rk4 rollouts
N_PARTICLES, K_SPRING, REST = 4, 1.0, 1.0


def spring_acceleration(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Pairwise springs between N unit masses in 3D: q (B, N, 3) -> a (B, N, 3)."""
    d = q.unsqueeze(2) - q.unsqueeze(1)  # (B, N, N, 3)
    r = torch.linalg.vector_norm(d, dim=-1, keepdim=True)
    r = r + torch.eye(N_PARTICLES, dtype=q.dtype).unsqueeze(-1)  # no self-pair division by 0
    return (d * (K_SPRING * (REST / r - 1.0))).sum(2)


def bench_rollout(repeats: int) -> None:
    B, steps, dt = 256, 1000, 0.01
    gen = torch.Generator().manual_seed(2)
    q0 = 2.0 * torch.randn(B, N_PARTICLES, 3, generator=gen, dtype=torch.float64)
    v0 = 0.5 * torch.randn(B, N_PARTICLES, 3, generator=gen, dtype=torch.float64)
    grid = dt * torch.arange(steps + 1, dtype=torch.float64)
    field = SecondOrderField(spring_acceleration)

    def ours() -> torch.Tensor:
        return rollout(field, q0, v0, dt=dt, steps=steps, method="rk4").q

    def tuple_rhs(t, state):
        q, v = state
        return v, spring_acceleration(q, v)

    def theirs_tuple() -> torch.Tensor:
        return odeint(tuple_rhs, (q0, v0), grid, method="rk4")[0]

    def stacked_rhs(t, y):
        return torch.stack([y[1], spring_acceleration(y[0], y[1])])

    def theirs_stacked() -> torch.Tensor:
        return odeint(stacked_rhs, torch.stack([q0, v0]), grid, method="rk4")[:, 0]

    with torch.no_grad():
        ref_q = ours()
        diff = max(
            float((theirs_tuple() - ref_q).abs().max()),
            float((theirs_stacked() - ref_q).abs().max()),
        )
        t_ours, s_ours = median_time(ours, repeats)
        t_tuple, s_tuple = median_time(theirs_tuple, repeats)
        t_stack, s_stack = median_time(theirs_stacked, repeats)
    t_peer = min(t_tuple, t_stack)
    print(
        f"2. rk4 rollout, N = {N_PARTICLES} springs in 3D, B = {B}, {steps} steps, float64, no grad"
    )
    print(f"   max |q| difference symnet vs torchdiffeq (different RK4 tableaux): {diff:.1e}")
    print(f"  {'':<52s} {'median':>13s} {'':>8s} {'speed-up':>10s}")
    print(row("torchdiffeq odeint rk4, tuple state", t_tuple, s_tuple, t_peer))
    print(row("torchdiffeq odeint rk4, stacked state", t_stack, s_stack, t_peer))
    print(row("symnet rollout rk4", t_ours, s_ours, t_peer))
    print(f"   symnet vs the faster torchdiffeq variant: {t_peer / t_ours:.2f}x (target >= 1x)")


# ------------------------------------------------------------- 3. field / grad(L)
def min_time(fn: Callable[[], object], repeats: int) -> float:
    """Minimum of ``repeats`` timed calls after two warm-up calls, in seconds."""
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _grad_floor(L: Callable, q: torch.Tensor, qdot: torch.Tensor) -> Callable[[], object]:
    def floor() -> object:
        with torch.enable_grad():
            a, b = q.detach().requires_grad_(), qdot.detach().requires_grad_()
            return torch.autograd.grad(L(a, b).sum(), (a, b))

    return floor


def bench_field_cost(repeats: int) -> None:
    torch.manual_seed(0)
    mlp = nn.Sequential(
        nn.Linear(4, 128), nn.Softplus(), nn.Linear(128, 128), nn.Softplus(), nn.Linear(128, 1)
    )

    def L_mlp(q, qdot):  # noqa: N802
        return 0.5 * (qdot**2).sum(-1) + 0.1 * mlp(torch.cat([q, qdot], -1))[:, 0]

    systems = [("double pendulum", DoublePendulum().lagrangian), ("MLP 4-128-128-1", L_mlp)]
    print("3. Lagrangian field cost relative to one gradient of L (forward, float32, no_grad)")
    print(
        f"  {'L':<16s} {'B':>4s} {'grad(L)':>9s} {'before':>9s} {'field/grad':>10s} "
        f"{'after':>9s} {'field/grad':>10s} {'speed-up':>8s}"
    )
    for name, L in systems:
        for B in (8, 256):
            gen = torch.Generator().manual_seed(3)
            q, qdot = torch.randn(B, 2, generator=gen), torch.randn(B, 2, generator=gen)
            after, before = lagrangian_vector_field(L), lagrangian_vector_field(L)
            before.fn.fn.per_sample = True  # the torch.func path
            diff, t_floor, t_before, t_after = _race(L, before, after, q, qdot, repeats)
            print(
                f"  {name:<16s} {B:>4d} {t_floor * 1e3:>6.3f} ms {t_before * 1e3:>6.3f} ms "
                f"{t_before / t_floor:>9.1f}x {t_after * 1e3:>6.3f} ms {t_after / t_floor:>9.1f}x "
                f"{t_before / t_after:>7.2f}x  (max |diff| {diff:.0e})"
            )


def _race(
    L: Callable, ref: Callable, new: Callable, q: torch.Tensor, qdot: torch.Tensor, repeats: int
) -> tuple[float, float, float, float]:
    """``(max |new - ref|, t(grad L), t(ref), t(new))`` of two fields of ``L``, no grad."""
    with torch.no_grad():
        diff = float((new(q, qdot) - ref(q, qdot)).abs().max())
        t_floor = min_time(_grad_floor(L, q, qdot), repeats)
        t_ref = min_time(lambda: ref(q, qdot), repeats)
        t_new = min_time(lambda: new(q, qdot), repeats)
    return diff, t_floor, t_ref, t_new


# ------------------------------------------------------------- 4. block mass matrices
def L_particles(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:  # noqa: N802
    """N particles, relativistic kinetic terms (c = 3) with mass ``1 + 0.1 tanh |q_j|^2``."""
    m = 1.0 + 0.1 * torch.tanh((q**2).sum(-1))
    kinetic = (-m * 9.0 * torch.sqrt(1.0 - (qdot**2).sum(-1) / 9.0)).sum(-1)
    r2 = ((q.unsqueeze(2) - q.unsqueeze(1)) ** 2).sum(-1)
    return kinetic - 0.5 * (1.0 / (r2 + 1.0)).sum((-1, -2))


def bench_block(repeats: int) -> None:
    print("4. mass_structure='block' vs 'dense', N particles in 3D, float64, no_grad")
    print(
        f"  {'N':>3s} {'B':>4s} {'grad(L)':>9s} {'dense':>10s} {'block':>9s} "
        f"{'block/grad':>10s} {'speed-up':>8s}"
    )
    for N in (16, 32, 64):
        for B in (8, 64):
            gen = torch.Generator().manual_seed(4)
            q = torch.randn(B, N, 3, generator=gen, dtype=torch.float64)
            qdot = 0.5 * torch.randn(B, N, 3, generator=gen, dtype=torch.float64)
            dense = lagrangian_vector_field(L_particles)
            block = lagrangian_vector_field(L_particles, mass_structure="block")
            reps = max(2, repeats // 2) if N * B > 1024 else repeats
            diff, t_floor, t_dense, t_block = _race(L_particles, dense, block, q, qdot, reps)
            print(
                f"  {N:>3d} {B:>4d} {t_floor * 1e3:>6.2f} ms {t_dense * 1e3:>7.2f} ms "
                f"{t_block * 1e3:>6.2f} ms {t_block / t_floor:>9.1f}x {t_dense / t_block:>7.1f}x"
                f"  (max |diff| {diff:.0e})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--peer-repeats", type=int, default=3, help="repeats of torchdyn's LNN")
    parser.add_argument(
        "--only", choices=("lnn", "rollout", "cost", "block"), help="run one section only"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, repeats {args.repeats}")
    sections = {
        "lnn": lambda: bench_lnn(args.repeats, args.peer_repeats),
        "rollout": lambda: bench_rollout(args.repeats),
        "cost": lambda: bench_field_cost(max(args.repeats, 20)),
        "block": lambda: bench_block(args.repeats),
    }
    for i, (name, run) in enumerate(sections.items()):
        if args.only in (None, name):
            if i and args.only is None:
                print()
            run()


if __name__ == "__main__":
    main()

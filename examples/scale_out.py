"""One script, any number of processes: a sharded Noether check and DDP training.

Run it as a plain script (one process) or under ``torchrun``; the code does not
change::

    python examples/scale_out.py
    torchrun --standalone --nproc-per-node 2 examples/scale_out.py

Under ``torchrun`` the script joins the process group (gloo on CPU, NCCL when
every process has a GPU of its own), and then

1. ``sn.noether.check`` shares the initial states across the processes: each
   integrates its part, and every process gets the report of the whole batch,
   the same report one process would print;
2. ``sn.models.train`` wraps the LNN in ``DistributedDataParallel``: every
   process draws the same global batch, keeps its slice, and the averaged
   gradient is the one of the whole batch, so the trained weights and the
   history are the ones of a single process (to round-off).

Only rank 0 prints. Run with ``SYMNET_EXAMPLE_SMALL=1`` for a few-second version.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

import symnet as sn
from symnet.groups import Rotation, TimeShift, Translation

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
BATCH, STEPS = (16, 40) if SMALL else (1024, 1000)
TRAJ, POINTS, EPOCHS = (8, 20, 1) if SMALL else (128, 100, 5)


def join() -> torch.device:
    """Join torchrun's process group, if launched by it; return this process's device."""
    cuda = torch.cuda.is_available()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = cuda and torch.cuda.device_count() > local
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if cuda else "gloo")
    return torch.device("cuda", torch.cuda.current_device()) if cuda else torch.device("cpu")


def say(text: str) -> None:
    """Print on rank 0 only."""
    if not dist.is_initialized() or dist.get_rank() == 0:
        print(text, flush=True)


def main() -> None:
    """Check the two-body spring on every process, then train an LNN on it with DDP."""
    device = join()
    world = dist.get_world_size() if dist.is_initialized() else 1
    say(f"{world} process(es), device {device.type}")
    try:
        spring = sn.systems.TwoBodySpring()
        # The same seed on every rank: every rank holds the whole batch, the check shards it.
        q, v = spring.sample_states(BATCH, torch.Generator().manual_seed(0))
        with sn.threads(1):
            report = sn.noether.check(
                spring.lagrangian,
                Translation(3) * Rotation(3) * TimeShift(),
                q.to(device),
                v.to(device),
                dt=0.01,
                steps=STEPS,
                field=spring.acceleration,
            )
        say(str(report))
        assert report.all_conserved, "the spring conserves P, L and E"

        data = spring.generate(TRAJ, POINTS, 0.05, rng=0)
        torch.manual_seed(0)  # the same initial weights on every rank
        model = sn.models.LNN(config_shape=(2, 3), hidden=32, structured=True).to(device)
        history = sn.models.train(model, data, epochs=EPOCHS, batch_size=64, rng=0, progress=False)
        loss = history.train_loss[-1]
        say(f"trained {history.steps} steps on {world} process(es): loss {loss:.6e}")
    finally:
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


if __name__ == "__main__":
    main()

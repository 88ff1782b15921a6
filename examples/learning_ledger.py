"""A charge ledger for a small CNN: which conservation laws does training keep.

A small CNN (conv -> BatchNorm -> ReLU -> max-pool -> conv -> ReLU -> average
pool -> linear) learns to tell three kinds of synthetic 8x8 images apart
(horizontal bars, vertical bars, a diagonal), generated here from a seed. We

1. find the parameter-space symmetries of its cross-entropy loss (structure
   proposes, a float64 Lie derivative confirms);
2. train a float64 copy with SGD (momentum 0.9, weight decay 5e-4) and compare
   every charge with the exact discrete recursion of SGD;
3. train again with Adam, which has no such recursion: its charges drift
   ("kinetic symmetry breaking", Tanaka and Kunin 2021);
4. keep a ledger inside a training loop of our own, with a learning-rate
   schedule.

Outputs ``learning_ledger.json`` and ``learning_ledger.png`` in the working
directory. ``SYMNET_EXAMPLE_SMALL=1`` runs a few steps only.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from symnet.learning import ChargeLedger, check_training, find_symmetries

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
STEPS = 20 if SMALL else 300
BATCH = 32


def synthetic_images(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` noisy 8x8 images of three classes: shape ``(n, 1, 8, 8)``, labels ``(n,)``."""
    labels = torch.randint(0, 3, (n,), generator=generator)
    images = 0.5 * torch.randn(n, 1, 8, 8, generator=generator)
    offset = torch.randint(0, 4, (n,), generator=generator)
    for i in range(n):
        k, o = int(labels[i]), int(offset[i])
        if k == 0:
            images[i, 0, o::4, :] += 1.0  # horizontal bars
        elif k == 1:
            images[i, 0, :, o::4] += 1.0  # vertical bars
        else:
            images[i, 0].diagonal().add_(2.0)  # a diagonal
    return images, labels


def make_cnn() -> nn.Module:
    """The CNN, 1x8x8 -> 3 logits."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 3),
    )


def main() -> None:
    """Run the four steps and write the JSON and the plot."""
    torch.set_num_threads(1)  # tiny tensors: intra-op threads only add overhead
    torch.manual_seed(0)
    data = torch.Generator().manual_seed(1)
    x, y = synthetic_images(BATCH * 8, data)
    batches = [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH)]
    model, loss_fn = make_cnn(), nn.CrossEntropyLoss()

    # 1. the symmetries of the loss
    found = find_symmetries(model, loss_fn, batches[0])
    print(found, end="\n\n")
    assert not found.rejected, "every structural candidate of this CNN is a symmetry"

    # 2. SGD with momentum and weight decay: exact recursions
    sgd = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    report = check_training(model, loss_fn, batches, sgd, steps=STEPS, symmetries=found)
    print(report, end="\n\n")
    for row in report.rows:
        if "BatchNorm" in row.family and row.kind == "scale":
            # BatchNorm's eps makes the scale symmetry approximate: an honest "deviates"
            assert row.verdict == "deviates", row
        else:
            assert row.verdict == "matches recursion", row
    report.to_json("learning_ledger.json")
    try:
        report.plot("learning_ledger.png")
    except ImportError:
        print("(matplotlib is not installed: no plot)")

    # 3. Adam: no recursion, the report shows the drift
    adam = torch.optim.Adam(model.parameters(), lr=1e-2)
    drift = check_training(model, loss_fn, batches, adam, steps=STEPS, symmetries=found)
    print(drift, end="\n\n")
    assert set(drift.verdicts.values()) == {"no prediction"}

    # 4. a ledger in a training loop of our own (float64 model, lr schedule)
    own = make_cnn().double()
    opt = torch.optim.SGD(own.parameters(), lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=max(STEPS // 3, 1), gamma=0.5)
    with ChargeLedger(own, found, opt) as ledger:
        for step in range(STEPS):
            inputs, targets = batches[step % len(batches)]
            opt.zero_grad()
            loss_fn(own(inputs.double()), targets).backward()
            opt.step()
            ledger.record()
            schedule.step()
    print(ledger.report())
    # the (untouched) user model is still float32
    assert next(model.parameters()).dtype == torch.float32


if __name__ == "__main__":
    main()

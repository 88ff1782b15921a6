from __future__ import annotations

import pytest
import torch
from torch.func import jvp


@pytest.fixture(scope="session", autouse=True)
def _warm_up_forward_mode():
    """Pay torch's one-time setup of forward-mode AD (seconds) before the tests.

    The first ``jvp`` through a product with a Python scalar is slow; without
    this the cost lands in whichever test happens to run first.
    """
    x = torch.ones(2, 3, 2, dtype=torch.float64)
    idx = torch.tensor([0, 1])
    jvp(lambda y: 2.0 * torch.zeros_like(y).index_add(1, idx, y[:, idx]).sin(), (x,), (x,))

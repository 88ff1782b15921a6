"""Suite-wide settings.

The tests run tiny tensor programs where intra-op threads only add
synchronisation overhead (5-8x slower on this project's 2-core machines), so
the whole suite runs torch single-threaded.
"""

import torch

torch.set_num_threads(1)

# Property tests draw the same examples on every run, so that CI is reproducible.
# (A random search found e3nn's Wigner D differing by up to 9e-11 between a batch of
# one and a batch of three identical rotations; see the closing note of that change.)
from hypothesis import settings  # noqa: E402

settings.register_profile("symnet", derandomize=True, print_blob=True)
settings.load_profile("symnet")

# torch_geometric warns that torch.jit.script is deprecated when it is first imported;
# symnet imports it quietly, so import it through symnet before any test module does.
# ------------------------------------------------------------------------------------ devices
# Device-parametrised tests run the same assertions on every device present: ``cpu`` always,
# ``cuda`` when torch sees one (see tests/test_devices*.py).
import pytest  # noqa: E402

import symnet.nn.egnn_conv  # noqa: E402, F401

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def to_device(x, device):
    """``x`` (a tensor, module, or a tuple/list/dict of them) moved to ``device``; others as is."""
    if isinstance(x, torch.Tensor | torch.nn.Module):
        return x.to(device)
    if isinstance(x, tuple | list):
        return type(x)(to_device(v, device) for v in x)
    if isinstance(x, dict):
        return {k: to_device(v, device) for k, v in x.items()}
    return x


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each device present (``cpu``, and ``cuda`` when available), as a ``torch.device``."""
    return torch.device(request.param)


@pytest.fixture
def two_threads():
    """torch at 2 threads (the suite runs at 1), restored after the test."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)

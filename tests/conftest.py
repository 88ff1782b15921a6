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
import symnet.nn.egnn_conv  # noqa: E402, F401

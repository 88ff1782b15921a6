"""Suite-wide settings.

The tests run tiny tensor programs where intra-op threads only add
synchronisation overhead (5-8x slower on this project's 2-core machines), so
the whole suite runs torch single-threaded.
"""

import torch

torch.set_num_threads(1)

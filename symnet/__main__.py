"""``python -m symnet``: the ``symnet`` command line (:func:`symnet.cli.main`).

``symnet check --nproc N`` starts its processes this way, under torchrun.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from symnet.cli import _current_directory_last, main

    _current_directory_last()
    sys.exit(main())

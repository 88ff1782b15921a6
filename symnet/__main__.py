"""``python -m symnet``: the ``symnet`` command line (:func:`symnet.cli.main`).

``symnet check --nproc N`` starts its processes this way, under torchrun.
A worker of such a launch (:data:`symnet._launch.RESULT_ENV` set) leaves
with :func:`os._exit` once its output is flushed and its process group is
gone: the interpreter's own teardown would otherwise destroy the gloo
threads' C++ objects in an arbitrary order, which can abort a worker after
the command has finished (and turn a clean run into torchrun's failure).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    from symnet._launch import RESULT_ENV, launched
    from symnet.cli import _current_directory_last, main

    _current_directory_last()
    code = main()
    if launched() and os.environ.get(RESULT_ENV):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code or 0))
    sys.exit(code)

"""Running a ``symnet`` command on several processes: ``--nproc N`` and torchrun.

``symnet check ... --nproc N`` re-launches the same command under torchrun
(:func:`relaunch`)::

    python -m torch.distributed.run --standalone --nproc-per-node N -m symnet check ...

with ``--nproc`` left out (:func:`torchrun_command`). Every process then finds
itself inside a launch (:func:`launched`: torchrun's ``WORLD_SIZE`` > 1 with
``RANK`` and ``LOCAL_RANK`` set), joins the default process group
(:func:`process_group`, gloo) and runs its share of the work; rank 0 alone
writes the output. On a cluster the user types the torchrun command
themselves (``torchrun --nnodes ... --nproc-per-node ... -m symnet check
...``) and the processes behave the same.

Exit codes: torchrun itself turns any non-zero exit of a worker into its own
exit code 1 and a page of diagnostics. Under :func:`relaunch` the workers
therefore exit 0 and rank 0 leaves the command's real exit code in a file
named by the environment variable :data:`RESULT_ENV`
(:func:`launch_exit_code`), which the launching process returns. A worker
that crashes still fails torchrun, whose exit code is then returned.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "RESULT_ENV",
    "expand_abbreviations",
    "launch_exit_code",
    "launch_rank",
    "launched",
    "nproc_argument",
    "process_group",
    "relaunch",
    "torchrun_command",
    "without_option",
]

#: Environment variable naming the file where rank 0 writes the exit code (set by :func:`relaunch`).
RESULT_ENV = "SYMNET_LAUNCH_RESULT"

#: Seconds to wait for torchrun to stop its workers after an interrupt, before killing it.
STOP_TIMEOUT = 30.0


def _env_int(name: str) -> int | None:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return None


def launched() -> bool:
    """True inside a torchrun launch of several processes.

    That is: ``WORLD_SIZE`` > 1 and ``RANK`` and ``LOCAL_RANK`` set, as
    torchrun sets them for each worker.
    """
    world = _env_int("WORLD_SIZE")
    ranks = _env_int("RANK"), _env_int("LOCAL_RANK")
    return world is not None and world > 1 and None not in ranks


def launch_rank() -> int:
    """The rank of this process: the default group's, else torchrun's ``RANK``, else 0.

    Read after the group is gone as well (to print an error on rank 0 only).
    """
    dist = sys.modules.get("torch.distributed")  # never imports torch for an error message
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return (_env_int("RANK") or 0) if launched() else 0


@contextmanager
def process_group(backend: str = "gloo") -> Iterator[bool]:
    """Join the default process group for the block, inside a torchrun launch.

    Outside a launch (:func:`launched` is False), or when a group is already
    initialised (by the caller, who keeps it), nothing happens. Otherwise the
    group is initialised from torchrun's environment (``env://``) and, at the
    end, destroyed after a barrier, so that no rank closes its connections
    while another still reads from them. After a ``KeyboardInterrupt`` the
    barrier is skipped (the other ranks may never reach it).

    Parameters
    ----------
    backend : str
        ``"gloo"`` (CPU tensors) or ``"nccl"`` (CUDA tensors; the current
        device is then set to ``LOCAL_RANK``).

    Yields
    ------
    bool
        True when this block initialised the group.
    """
    import torch
    import torch.distributed as dist

    if not launched() or not dist.is_available() or dist.is_initialized():
        yield False
        return
    if backend == "nccl":
        torch.cuda.set_device(_env_int("LOCAL_RANK") or 0)
    dist.init_process_group(backend)
    interrupted = False
    try:
        yield True
    except Exception:
        raise  # every rank raises it (run_everywhere): the barrier below is reached by all
    except BaseException:
        interrupted = True
        raise
    finally:
        try:
            if not interrupted:
                dist.barrier()
        finally:
            dist.destroy_process_group()


def nproc_argument(text: str) -> int:
    """``--nproc N`` parsed: an int >= 1, or an error that argparse prefixes with the option."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {value}")
    return value


def expand_abbreviations(argv: Sequence[str], options: Sequence[str]) -> list[str]:
    """``argv`` with abbreviated long options written in full.

    argparse accepts ``--sym`` for ``--symmetry``; torchrun's own parser reads
    every ``--`` word of the command it launches and stops at one that could
    abbreviate two of its options (``--ma``: ``--master-addr``,
    ``--max-restarts``), so the command is relaunched with full names.

    Parameters
    ----------
    argv : sequence of str
        Arguments that argparse accepted with ``options``.
    options : sequence of str
        The option strings of the parser, such as ``["-s", "--symmetry"]``.

    Returns
    -------
    list of str
        ``argv`` with each ``--abbr`` or ``--abbr=VALUE`` that abbreviates
        exactly one long option replaced by its full name; everything after
        ``--`` is kept.

    Examples
    --------
    >>> expand_abbreviations(
    ...     ["--sym", "time", "--ma=1,2", "--", "--sym"], ["--symmetry", "--masses"]
    ... )
    ['--symmetry', 'time', '--masses=1,2', '--', '--sym']
    """  # noqa: E501
    longs = [o for o in options if o.startswith("--")]
    out: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--":
            out.append(item)
            out.extend(items)
            break
        if item.startswith("--"):
            name, eq, value = item.partition("=")
            matches = [o for o in longs if o.startswith(name)]
            if name not in longs and len(matches) == 1:
                item = matches[0] + eq + value
        out.append(item)
    return out


def without_option(argv: Sequence[str], option: str, shortest: int) -> list[str]:
    """``argv`` without ``option`` and its value, in any form argparse accepts.

    Parameters
    ----------
    argv : sequence of str
        Command-line arguments.
    option : str
        A long option that takes one value, such as ``"--nproc"``.
    shortest : int
        Length of the shortest unambiguous abbreviation (``"--np"``: 4).

    Returns
    -------
    list of str
        ``argv`` without ``OPT VALUE`` and ``OPT=VALUE``, for ``OPT`` the
        option or an abbreviation of it; everything after ``--`` is kept.

    Examples
    --------
    >>> without_option(["check", "m:L", "--nproc", "2", "--np=3", "-s", "time"], "--nproc", 4)
    ['check', 'm:L', '-s', 'time']
    """
    names = {option[:n] for n in range(shortest, len(option) + 1)}
    out: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--":
            out.append(item)
            out.extend(items)
            break
        name, eq, _ = item.partition("=")
        if name in names:
            if not eq:
                next(items, None)
            continue
        out.append(item)
    return out


def torchrun_command(argv: Sequence[str], nproc: int, executable: str | None = None) -> list[str]:
    """The torchrun command that runs ``symnet ARGV`` on ``nproc`` local processes.

    Parameters
    ----------
    argv : sequence of str
        The ``symnet`` arguments (``["check", ...]``); ``--nproc`` is removed.
    nproc : int
        Processes to start, >= 1.
    executable : str, optional
        The Python interpreter; default :data:`sys.executable`.

    Returns
    -------
    list of str
        ``[python, "-m", "torch.distributed.run", "--standalone",
        "--nproc-per-node", N, "-m", "symnet", *argv]``.

    Examples
    --------
    >>> torchrun_command(["check", "m:L", "--nproc", "2"], 2, executable="python")
    ['python', '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', '-m', 'symnet', 'check', 'm:L']
    """  # noqa: E501
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be an int >= 1, got {nproc!r}")
    python = sys.executable if executable is None else executable
    return [
        python,
        *("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc)),
        *("-m", "symnet"),
        *without_option(argv, "--nproc", 4),
    ]


def launch_exit_code(code: int) -> int:
    """The exit code of a worker whose command returned ``code``.

    Under :func:`relaunch` (:data:`RESULT_ENV` set), rank 0 writes ``code``
    to that file and every worker exits 0, so that torchrun stays quiet and
    the launcher returns ``code``. Otherwise ``code`` itself.
    """
    path = os.environ.get(RESULT_ENV)
    if not path or not launched():
        return code
    if launch_rank() == 0:
        Path(path).write_text(f"{int(code)}\n")
    return 0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask torchrun to stop its workers (SIGINT), and kill it if it does not."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def relaunch(argv: Sequence[str], nproc: int, threads: int) -> int:
    """Run ``symnet ARGV`` on ``nproc`` processes under torchrun; return its exit code.

    Parameters
    ----------
    argv : sequence of str
        The ``symnet`` arguments; ``--nproc`` is removed (see :func:`torchrun_command`).
    nproc : int
        Processes, >= 1.
    threads : int
        ``OMP_NUM_THREADS`` of every process.

    Returns
    -------
    int
        The command's exit code (the same on every rank), or torchrun's when a
        worker crashed.

    Notes
    -----
    The environment is passed on. torchrun runs in a session of its own: an
    interrupt (Ctrl-C) reaches this process only, which asks torchrun to stop
    its workers, waits for it and raises ``KeyboardInterrupt``.
    """
    command = torchrun_command(argv, nproc)
    with tempfile.TemporaryDirectory(prefix="symnet-nproc-") as folder:
        result = Path(folder) / "exit_code"
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), RESULT_ENV: str(result)}
        proc = subprocess.Popen(command, env=env, start_new_session=os.name == "posix")
        try:
            code = proc.wait()
        finally:
            _stop(proc)  # after an interrupt; a no-op once torchrun has ended
        if code != 0:
            return code
        try:
            return int(result.read_text())
        except (OSError, ValueError):
            print("symnet: error: torchrun ended without an exit code from rank 0", file=sys.stderr)
            return 1

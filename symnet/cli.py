"""The ``symnet`` command line.

Subcommands are listed in one registry, :data:`COMMANDS`, that maps a name to
the function that adds its arguments and the function that runs it. Adding a
subcommand is one entry there.

Exit codes
----------
0
    Success.
1
    The command ran and found a problem (used by ``symnet check`` for a broken
    or inconclusive symmetry).
2
    Bad input: unknown options, a malformed argument, a module that cannot be
    imported, an output path that cannot be written, a run that cannot go on.
    A single line naming the reason goes to stderr, with no traceback
    (``--traceback`` shows it).

Several processes
-----------------
``symnet check ... --nproc N`` runs the check on N processes, launched with
torchrun (:mod:`symnet._launch`); under torchrun, only rank 0 prints (the
report, or the one-line error) and every rank exits with the same code.

Modules named on the command line (``symnet check MODULE:OBJECT``) are
imported with the current directory searched *after* the installed packages,
so that a file there never shadows one. Run as ``python -m symnet.cli``, the
current directory that Python puts first on ``sys.path`` is moved last before
anything else is imported by symnet.

Examples
--------
.. code-block:: console

    $ symnet demo
    $ python -m symnet --help
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple, NoReturn

from symnet import __version__

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

#: The end of ``symnet --help``.
EPILOG = """\
exit codes:
  0  success (symnet check: every symmetry is conserved)
  1  the command ran and found a problem (symnet check: a broken or
     inconclusive symmetry)
  2  bad input, reported as one line on stderr (--traceback shows the traceback)
"""

#: Errors reported as bad input (exit code 2, one line on stderr).
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, FileNotFoundError)


class _UsageError(Exception):
    """Raised by the argument parser instead of printing usage and exiting."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors become :class:`_UsageError`.

    ``argparse`` prints the usage and exits on a parse error; :func:`main`
    wants a single line on stderr and a return code instead.
    """

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self.prog, message)


class Command(NamedTuple):
    """One subcommand of the ``symnet`` program.

    Attributes
    ----------
    configure : callable
        ``configure(parser)`` adds the subcommand's arguments to its own
        :class:`argparse.ArgumentParser`.
    handler : callable
        ``handler(args) -> int`` runs the subcommand with the parsed
        :class:`argparse.Namespace` and returns the exit code.
    help : str
        One line shown by ``symnet --help``.
    """

    configure: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]
    help: str


# ---------------------------------------------------------------------------
# symnet demo


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``symnet demo`` (it takes none)."""


def _run_demo(args: argparse.Namespace) -> int:
    """Run the flagship demo (:mod:`symnet._demo`): two LNNs trained, then checked.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments (unused).

    Returns
    -------
    int
        The exit code: the demo's own, or 0 when it returns nothing.
    """
    # Imported here so that ``symnet --help`` stays fast and other subcommands
    # do not pay for the demo's imports.
    from symnet._demo import main as demo_main

    code = demo_main()
    return EXIT_OK if code is None else int(code)


def _configure_check(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``symnet check`` (see :mod:`symnet.noether._cli`)."""
    from symnet.noether._cli import configure

    configure(parser)


def _run_check(args: argparse.Namespace) -> int:
    """Run ``symnet check``: 0 when every symmetry is conserved, 1 otherwise."""
    from symnet.noether._cli import run

    return run(args)


#: Subcommand name -> :class:`Command`.
COMMANDS: dict[str, Command] = {
    "demo": Command(
        _configure_demo,
        _run_demo,
        "train a plain and a symmetric LNN (Lagrangian networks) on four particles joined "
        "by springs, and check their Noether charges (about a minute; plots in ./out)",
    ),
    "check": Command(
        _configure_check, _run_check, "check a Lagrangian's symmetries and Noether charges"
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of the ``symnet`` program from :data:`COMMANDS`.

    Returns
    -------
    argparse.ArgumentParser
        The top-level parser; each subcommand stores its :class:`Command` in
        the ``command`` attribute of the parsed namespace.
    """
    parser = _Parser(
        prog="symnet",
        description="Symmetry in machine learning and mechanics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"symnet {__version__}")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on error, show the full traceback instead of a one-line message",
    )
    sub = parser.add_subparsers(title="commands", dest="command_name", metavar="COMMAND")
    sub.required = True
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=command.help, description=command.help)
        command.configure(sub_parser)
        sub_parser.set_defaults(command=command)
    return parser


def _unabbreviated(parser: argparse.ArgumentParser, argv: list[str], command: str) -> list[str]:
    """``argv`` as ``parser`` read it, with abbreviated long options written in full.

    The options before the subcommand are the program's (flags only), those
    after it the subcommand's.
    """
    from symnet._launch import expand_abbreviations

    def options(p: argparse.ArgumentParser) -> list[str]:
        return [s for action in p._actions for s in action.option_strings]

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    at = next(i for i, item in enumerate(argv) if not item.startswith("-"))
    return [
        *expand_abbreviations(argv[:at], options(parser)),
        argv[at],
        *expand_abbreviations(argv[at + 1 :], options(sub.choices[command])),
    ]


def _one_line(exc: BaseException) -> str:
    """Render an exception as a single line of text."""
    text = " ".join(str(exc).split())
    if isinstance(exc, FileNotFoundError) and exc.filename is not None and not text:
        text = f"no such file: {exc.filename}"
    return text or type(exc).__name__


def _rank() -> int:
    """The rank of this process under torchrun (0 otherwise): only rank 0 prints errors."""
    from symnet._launch import launch_rank

    return launch_rank()


def _fail(message: str, prog: str = "symnet") -> int:
    """Print ``message`` as one line on stderr (rank 0 only) and return the usage exit code."""
    if _rank() == 0:
        print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``symnet`` program.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments without the program name; ``sys.argv[1:]`` when
        omitted.

    Returns
    -------
    int
        The exit code: 0 on success, 1 when a command finds a problem, 2 for
        bad input (reported as one line on stderr, without a traceback). A
        worker started by ``--nproc`` returns 0 and hands the code to the
        launching process (:func:`symnet._launch.launch_exit_code`).
    """
    from symnet._launch import launch_exit_code

    return launch_exit_code(_main(argv))


def _main(argv: Sequence[str] | None) -> int:
    """:func:`main` before the exit code is handed to a launcher."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        return _fail(f"{_one_line(exc)} (see '{exc.prog} --help')", exc.prog)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    # the arguments, for a command that runs itself again (--nproc)
    args.argv = _unabbreviated(parser, argv, args.command_name)

    try:
        return args.command.handler(args)
    except USER_ERRORS as exc:
        if args.traceback:
            raise
        return _fail(_one_line(exc))
    except KeyboardInterrupt:
        if _rank() == 0:
            print("symnet: interrupted", file=sys.stderr)
        return 130


def _current_directory_last() -> None:
    """Move the current directory that ``python -m`` puts first on ``sys.path`` to the end."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.append(sys.path.pop(0))


if __name__ == "__main__":
    _current_directory_last()
    sys.exit(main())

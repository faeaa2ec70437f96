"""`fakevoice <verb>`: one thin entry point over the modules.

Each verb lives in ``fakevoice.commands.<verb>`` and provides ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; verbs are found automatically.
Exit codes: 0 ok, 2 usage or bad input, 1 internal error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
import warnings
from collections.abc import Sequence

from fakevoice import __version__, commands
from fakevoice.errors import FakevoiceError, SilentAudioWarning

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its one-line style."""


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The parser for every verb, or only for ``verb`` when that names one: some verbs
    import torch (1.3 s, 250 MB), and make-data's workers are forks that would carry it."""
    parser = _Parser(
        prog="fakevoice",
        description="Tell real human voices from AI-generated ones in noisy clips, "
        "with calibrated probabilities.",
    )
    parser.add_argument("--version", action="version", version=f"fakevoice {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks (also FAKEVOICE_DEBUG=1)"
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    names = sorted(m.name for m in pkgutil.iter_modules(commands.__path__))
    names = [n for n in names if not n.startswith("_")]
    if verb is not None and verb.replace("-", "_") in names:
        names = [verb.replace("-", "_")]
    for name in names:
        mod = importlib.import_module(f"fakevoice.commands.{name}")
        p = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=mod.__doc__ or mod.HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("FAKEVOICE_DEBUG") == "1"
    warnings.simplefilter("once", SilentAudioWarning)
    warnings.formatwarning = lambda msg, cat, *a, **k: f"note: {msg}\n"
    try:
        return int(args._run(args) or EXIT_OK)
    except FakevoiceError as exc:
        if debug:
            traceback.print_exc()
        print(f"fakevoice {args.verb}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"fakevoice {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # an internal error: say so, in one line unless debugging
        if debug:
            traceback.print_exc()
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(
            f"fakevoice {args.verb}: internal error: {type(exc).__name__}: {exc} "
            f"(at {os.path.basename(where.filename)}:{where.lineno}; rerun with --debug)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``tad-data`` command line: one subcommand per task, each registered by the module that owns it.

Every subcommand module exposes ``add_command(subparsers)``, which adds its parser and sets
``run=handler``; a handler takes the parsed arguments and returns an exit code (or None for 0).
Bad input (`TadDataError`, tad-eval's `InputError`, a missing or unwritable file) ends the program with
exit code 2 and one line on stderr; repairs (`TadDataWarning`) are printed as one
``tad-data: warning:`` line each.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from tad_data import __version__, convert, probe, synthetic
from tad_data.errors import TadDataError
from tad_eval import InputError

__all__ = ["build_parser", "main"]

_EXAMPLES = """\
examples:
  tad-data convert --dataset thumos14 --src TH14_Temporal_annotations_test/annotations \\
                   --out data/thumos14/anno.json
  tad-data probe --videos data/thumos14/videos --anno data/thumos14/anno.json
  tad-data synth --out data/synth --videos 8 --classes 3 --seed 0
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="tad-data",
        description="Temporal action detection data: annotation conversion, video checks, synthetic data.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tad-data {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    convert.add_command(subparsers)
    probe.add_command(subparsers)
    synthetic.add_command(subparsers)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"tad-data: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tad-data``; returns the exit code (0 success, 2 bad input or usage).

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            code = args.run(args)
        except (TadDataError, InputError) as err:
            print(f"tad-data: error: {err}", file=sys.stderr)
            return 2
        except FileNotFoundError as err:
            print(f"tad-data: error: no such file: {err.filename or err}", file=sys.stderr)
            return 2
        except OSError as err:  # an output path that is a folder, a file where a folder is needed
            print(f"tad-data: error: {err.filename2 or err.filename}: {err.strerror or err}", file=sys.stderr)
            return 2
    return 0 if code is None else int(code)


if __name__ == "__main__":
    sys.exit(main())

"""The ``retvis`` command line: the same core, ml and sim code as the app, no Qt.

Each sub-command lives in its own module of this package with two functions,
``register(subparsers)`` and ``run(args) -> int``; :data:`COMMANDS` lists them. Modules
are imported only when their command runs, so ``retvis --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys

from .. import __version__
from ..errors import RetvisError

#: Sub-command name -> module in this package.
COMMANDS: dict[str, str] = {
    "grid": "grid_cmd",
    "label": "label_cmd",
    "predict": "predict_cmd",
    "train": "train_cmd",
    "evaluate": "evaluate_cmd",
    "learning-curve": "learning_curve_cmd",
    "descriptors": "descriptors_cmd",
    "render": "render_cmd",
    "screen": "screen_cmd",
    "targets": "targets_cmd",
    "pretrain": "pretrain_cmd",
    "suggest": "suggest_cmd",
    "learn": "learn_cmd",
    "app": "app_cmd",
}

log = logging.getLogger("retvis")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retvis",
        description="Screen porous materials for gas adsorption with energy grids and RetNet.",
    )
    parser.add_argument("--version", action="version", version=f"retvis {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(f"{__name__}.{module}").register(sub)
    from ._common import add_json_option

    for name, p in sub.choices.items():
        if name != "app" and "--json" not in p._option_string_actions:
            add_json_option(p, name)
    for p in sub.choices.values():  # help texts come from docstrings: print them plain
        p.description = plain_text(p.description)
        for action in p._actions:
            action.help = plain_text(action.help)
    return parser


_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc|ref):`~?([^`]+)`")


def plain_text(text: str | None) -> str | None:
    """reStructuredText markup of a docstring as plain terminal text: ``code`` and
    :role:`target` become their words."""
    if not text:
        return text
    text = _ROLE.sub(
        lambda m: m.group(1).rsplit(".", 1)[-1] if "~" in m.group(0) else m.group(1), text
    )
    return text.replace("``", "")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``retvis`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except RetvisError as exc:
        print(f"retvis {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"retvis {args.command}: interrupted", file=sys.stderr)
        return 130

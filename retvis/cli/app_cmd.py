"""``retvis app [PATHS] [--demo]``: open the desktop app with these files.

Qt is imported only when the command runs, so the rest of the CLI never loads it.
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("app", help="open the desktop app", description=__doc__.split("\n\n")[0])
    from ..gui.app import add_arguments  # argparse only: Qt loads in run()

    add_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..gui.app import run as run_app

    return run_app(args.paths, args.demo, args.project, args.screenshot, args.quit_after)

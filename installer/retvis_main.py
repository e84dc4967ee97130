"""Entry point of the bundled app: ``retvis-app`` starts the GUI, ``retvis`` the CLI.

Both names are the same executable in the bundle (``retvis-app`` is a link or a copy);
it looks at the name it was started under. ``RETVIS_APP=1`` (set by the macOS ``.app``)
starts the GUI too, and so does the CLI's own ``retvis app``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path


def _gui_requested() -> bool:
    name = Path(sys.argv[0]).stem.lower()
    return name.startswith("retvis-app") or os.environ.get("RETVIS_APP") == "1"


def _run_code() -> int:
    """``retvis -c CODE ARGS``: what ``python -c`` does, for child processes that run
    ``sys.executable -c ...`` (the Zeo++ descriptor children): in the bundle
    ``sys.executable`` is this program."""
    code = sys.argv[2]
    sys.argv = ["-c", *sys.argv[3:]]
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
    return 0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "-c":
        return _run_code()
    if _gui_requested():
        from retvis.gui.app import main as gui_main

        return int(gui_main() or 0)
    from retvis.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    multiprocessing.freeze_support()  # Dask and the descriptor/simulation children
    sys.exit(main())

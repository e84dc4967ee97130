"""``python -m retvis`` runs the command line."""

from .cli import main

raise SystemExit(main())

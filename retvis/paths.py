"""Where RetVis finds its resources and keeps its user data.

Nothing here touches the file system at import time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "retvis"


def resources_dir() -> Path:
    """Return the folder holding force fields, demo structures and shipped models.

    Looks, in order, at ``$RETVIS_RESOURCES``, a PyInstaller bundle, the source
    tree (editable installs and checkouts) and ``<prefix>/share/retvis/resources``.
    """
    env = os.environ.get("RETVIS_RESOURCES")
    candidates = []
    if env:
        candidates.append(Path(env))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(Path(__file__).resolve().parent.parent / "resources")
    candidates.append(Path(sys.prefix) / "share" / APP_NAME / "resources")
    for c in candidates:
        if (c / "forcefield").is_dir():
            return c
    raise FileNotFoundError(
        "RetVis resources not found; looked in " + ", ".join(str(c) for c in candidates)
    )


def demo_dir() -> Path:
    """Folder of the bundled demo CIFs (CoRE MOF 2019)."""
    return resources_dir() / "demo"


def models_dir() -> Path:
    """Folder of the shipped model weights."""
    return resources_dir() / "models"


def cache_dir() -> Path:
    """User cache folder (energy grids, extracted databases); ``$RETVIS_CACHE`` overrides."""
    env = os.environ.get("RETVIS_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """User data folder (user-trained models, settings); ``$RETVIS_DATA`` overrides."""
    env = os.environ.get("RETVIS_DATA")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def log_dir() -> Path:
    """User log folder; ``$RETVIS_LOGS`` overrides."""
    env = os.environ.get("RETVIS_LOGS")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME))


#: The model used when none is named: the shipped CH4 model (resources/models/<name>).
DEFAULT_MODEL = "ch4-coremof"

# PyInstaller run-time hook: runs before retvis_main in the bundle.
# numba's kernel cache goes to the user cache folder (the bundle may be read-only).
import os
import sys

if getattr(sys, "frozen", False) and "NUMBA_CACHE_DIR" not in os.environ:
    base = os.environ.get("RETVIS_CACHE")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("retvis")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(base, "numba")

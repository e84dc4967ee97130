"""The layering of STYLE.md, checked by machine: core and ml never load Qt or VTK."""

import subprocess
import sys

import pytest

FORBIDDEN = {
    "retvis.app": ("PySide6", "pyvista", "pyvistaqt", "vtk", "torch"),
    "retvis.core": ("PySide6", "pyvista", "pyvistaqt", "vtk", "torch"),
    "retvis.ml": ("PySide6", "pyvista", "pyvistaqt", "vtk"),
    "retvis.sim": ("PySide6", "pyvista", "pyvistaqt", "vtk", "torch"),
    "retvis.render": ("PySide6", "pyvistaqt"),
    "retvis.cli": ("PySide6", "pyvistaqt"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_load_forbidden_modules(package):
    import importlib.util
    import pkgutil

    spec = importlib.util.find_spec(package)
    if spec is None:
        pytest.fail(f"{package} is missing")
    mods = [package] + [
        f"{package}.{m.name}" for m in pkgutil.iter_modules(spec.submodule_search_locations)
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        f"bad = sorted(k for k in sys.modules if k.split('.')[0] in {FORBIDDEN[package]!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{package} loaded {out.stdout.strip()}"

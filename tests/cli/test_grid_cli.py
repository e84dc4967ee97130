import json
import subprocess
import sys

import numpy as np

from retvis.cli import main
from retvis.core.structure import read_structure
from tests.conftest import demo


def test_grid_cli_writes_published_layout_and_failures(tmp_path):
    bad = tmp_path / "notacif.cif"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    out = tmp_path / "out"
    rc = main(
        [
            "grid",
            str(demo("PEKKAS_clean")),
            str(demo("VOGTIV_clean_h")),
            str(bad),
            "-o",
            str(out),
            "--n",
            "12",
            "-j",
            "2",
            "-q",
        ]
    )
    assert rc == 1  # some inputs failed
    v = np.load(out / "voxels.npy")
    names = json.loads((out / "names.json").read_text())
    assert v.shape == (2, 12, 12, 12) and v.dtype == np.float32
    assert names == ["PEKKAS_clean", "VOGTIV_clean_h"]
    want = [read_structure(demo(n)).density for n in names]
    assert json.loads((out / "densities.json").read_text()) == want
    fail = (out / "failures.csv").read_text()
    assert "notacif" in fail and "PNG image" in fail
    assert json.loads((out / "gridspec.json").read_text())["n"] == 12


def test_console_entry_point_runs_as_module(tmp_path):
    r = subprocess.run([sys.executable, "-m", "retvis", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "grid" in r.stdout

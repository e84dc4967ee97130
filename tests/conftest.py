"""Shared fixtures: real CIFs from the bundled demo set (CoRE MOF 2019), their grids and
a real label, and a RetNet trained on them.

Labels: no simulated uptake labels exist for the demo set, so tests use a real, published
physical property of the same materials: the helium-probe accessible void fraction
``AV_VF`` computed with Zeo++ by the CoRE MOF 2019 authors (column ``AV_VF`` of
``CoRE_MOF/data/2019-ASR.csv`` in the ``core-mof`` package, a RetVis dependency). It is a
property of the pore geometry, which the energy grid encodes, so a network can learn it;
it is *not* an adsorption uptake.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import json
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from retvis.core.grid import GridSpec, compute_grid
from retvis.core.structure import read_structure

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "resources" / "demo"

os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))

#: For tests of the CO2 probe's EQeq charges, whose element data come from the optional
#: pyeqeq package (``.ci/test`` installs it).
needs_pyeqeq = pytest.mark.skipif(
    importlib.util.find_spec("pyeqeq") is None,
    reason="the CO2 probe's EQeq charges need pyeqeq's element data (.ci/test installs it)",
)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep every test's cache, data and logs out of the user's real folders."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("RETVIS_CACHE", str(base / "cache"))
    monkeypatch.setenv("RETVIS_DATA", str(base / "data"))
    monkeypatch.setenv("RETVIS_LOGS", str(base / "logs"))


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO


@pytest.fixture(scope="session")
def demo_cifs() -> list[Path]:
    files = sorted(DEMO.glob("*.cif"))
    assert len(files) >= 20
    return files


@contextlib.contextmanager
def memory_cap(extra: int):
    """Cap this process's address space at its present size plus ``extra`` bytes, so a
    regression that allocates gigabytes fails with MemoryError instead of taking the
    machine (the libraries already loaded keep what they reserved)."""
    import resource

    size = next(
        int(line.split()[1]) * 1024
        for line in open("/proc/self/status")
        if line.startswith("VmSize:")
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (size + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def demo(name: str) -> Path:
    """Path of one demo CIF by material name."""
    p = DEMO / f"{name}.cif"
    assert p.is_file(), p
    return p


def core_mof_table() -> dict[str, dict[str, str]]:
    """Rows of CoRE MOF 2019-ASR's property table by name."""
    path = resources.files("CoRE_MOF") / "data" / "2019-ASR.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["filename"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def demo_set(tmp_path_factory) -> Path:
    """Folder in the ``retvis grid`` layout (n = 25) plus ``labels.csv`` (name, value=AV_VF)
    and ``descriptors.csv`` (CoRE MOF's Zeo++ values + cell volume and mass from our reader).
    """
    out = tmp_path_factory.mktemp("demo25")
    spec = GridSpec(n=25)
    names, grids, structures = [], [], {}
    for cif in sorted(DEMO.glob("*.cif")):
        s = read_structure(cif)
        names.append(s.name)
        grids.append(compute_grid(s, spec, threads=2).boltzmann)
        structures[s.name] = s
    np.save(out / "voxels.npy", np.stack(grids).astype(np.float32))
    (out / "names.json").write_text(json.dumps(names))
    (out / "densities.json").write_text(json.dumps([structures[n].density for n in names]))
    (out / "gridspec.json").write_text(json.dumps(spec.to_dict()))
    table = core_mof_table()
    with open(out / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "value"])
        for n in names:
            w.writerow([n, table[n]["AV_VF"]])
    from retvis.core.descriptor_table import DESCRIPTORS

    with open(out / "descriptors.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "status", "reason", *DESCRIPTORS])
        for n in names:
            r, s = table[n], structures[n]
            w.writerow(
                [
                    n,
                    "ok",
                    "",
                    r["LCD"],
                    r["PLD"],
                    r["LFPD"],
                    r["ASA_m2_g"],
                    r["AV_VF"],
                    r["AV_cm3_g"],
                    r["cm3_g"],
                    s.volume,
                    s.mass,
                ]
            )  # "cm3_g" holds g/cm3
    return out


@pytest.fixture(scope="session")
def trained_model(demo_set, tmp_path_factory) -> Path:
    """A RetNet trained for two epochs on ``demo_set``: real training output, not random
    weights; what it learned in two epochs does not matter where it is used."""
    from retvis.ml.config import TrainConfig
    from retvis.ml.train import train_run

    cfg = TrainConfig(
        epochs=2, batch_size=16, augment=False, dropout=0.0, units="1", target_name="void fraction"
    )
    run = tmp_path_factory.mktemp("run") / "run"
    train_run(demo_set, demo_set / "labels.csv", run, cfg)
    return run / "model"


@pytest.fixture(scope="session")
def per_volume_model(demo_set, tmp_path_factory) -> Path:
    """Like ``trained_model``, trained with ``per_volume``: its networks learn label x
    framework density, and predicting needs each structure's density."""
    from retvis.ml.config import TrainConfig
    from retvis.ml.train import train_run

    cfg = TrainConfig(
        epochs=1, batch_size=16, augment=False, dropout=0.0, units="1", per_volume=True
    )
    run = tmp_path_factory.mktemp("run_pv") / "run"
    train_run(demo_set, demo_set / "labels.csv", run, cfg)
    return run / "model"

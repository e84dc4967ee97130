"""Real experimental COFs (CURATED COFs, ``resources/curated-cofs``) through the reader.

COFs are another family than the CoRE MOFs the demo holds: light elements, layered 2D
frameworks replicated along c, structures as published (some bond lengths unnatural).
"""

from __future__ import annotations

import csv

import numpy as np

from retvis.core.structure import read_structure, read_structure_pymatgen
from retvis.errors import StructureError
from tests.conftest import REPO
from tests.core.test_structure import _same_sites

COFS = REPO / "resources" / "curated-cofs" / "cifs"


def _cifs():
    return sorted(COFS.glob("*.cif"))


def test_every_curated_cof_reads_or_is_refused_for_overlapping_atoms():
    files = _cifs()
    assert len(files) == 129
    refused = {}
    for f in files:
        try:
            s = read_structure(f)
        except StructureError as exc:
            refused[f.stem] = exc
            continue
        assert s.n_atoms > 0 and s.density > 0 and np.isfinite(s.frac).all()
    # the few published COFs with duplicated or near-coincident sites are refused with
    # the reason and the file (the ones the label run recorded so); everything else reads
    table = REPO / "resources" / "datasets" / "ch4_298K_5.8bar_cofs.exclusions.csv"
    with table.open(newline="") as fh:
        recorded = {r["name"] for r in csv.DictReader(fh) if "overlapping" in r["reason"]}
    assert set(refused) == recorded and len(recorded) == 6
    for name, exc in refused.items():
        assert "overlapping atoms" in exc.reason and exc.path.stem == name


def test_the_reader_matches_pymatgen_on_a_sample_of_curated_cofs():
    files = _cifs()
    pick = np.random.default_rng(0).permutation(len(files))[:12]
    for i in pick:
        try:
            ours = read_structure(files[i])
        except StructureError:
            continue
        _same_sites(ours, read_structure_pymatgen(files[i]), tol_angstrom=5e-3)

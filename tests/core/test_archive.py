"""Zip archives beyond the hostile corpus (tests/data/hostile: damaged members, a bomb):
sizes counted as written against a budget, and a file that is not a zip."""

from __future__ import annotations

import zipfile

import pytest

from retvis.core.archive import extract_cifs
from retvis.errors import StructureError
from tests.conftest import demo, memory_cap

GOOD = "PEKKAS_clean"


@pytest.fixture(autouse=True)
def _capped():
    """A regression that reads a bomb into memory fails here, not on the machine."""
    with memory_cap(1 * 2**30):
        yield


def _zip(path, members, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def _good():
    return demo(GOOD).read_text()


def test_the_budget_counts_bytes_written_and_fails_the_rest(tmp_path):
    good = _good()
    archive = _zip(tmp_path / "many.zip", [(f"s{i}.cif", good) for i in range(5)])
    got = extract_cifs(archive, tmp_path / "cache", max_bytes=int(2.5 * len(good)))
    assert sorted(p.name for p in got.folder.glob("*.cif")) == ["s0.cif", "s1.cif"]
    assert [w for w, _ in got.failures] == [f"s{i}.cif" for i in (2, 3, 4)]
    assert all("expands beyond" in r for _, r in got.failures)
    assert not list(got.folder.glob(".extract-*"))  # no partial file


def test_not_a_zip_is_one_named_error(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 and then nothing")
    with pytest.raises(StructureError, match=r"^fake\.zip: not a readable zip archive"):
        extract_cifs(fake, tmp_path / "cache")

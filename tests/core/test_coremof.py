"""Extracting a CoRE MOF set from the installed core-mof package, once."""

from __future__ import annotations

import os

import pytest

from retvis.core import coremof
from retvis.core.structure import read_structure
from retvis.errors import DataError


def test_extract_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RETVIS_CACHE", str(tmp_path / "cache"))
    dest = coremof.extract(name="2014")  # the smallest set shipped
    assert dest == tmp_path / "cache" / "core-mof" / "2014"
    cifs = sorted(dest.glob("*.cif"))
    count = int((dest / coremof.MARKER).read_text().split()[1])
    assert count == len(cifs) > 100
    s = read_structure(cifs[0])
    assert s.n_atoms > 0
    assert not [p for p in tmp_path.joinpath("cache", "core-mof").iterdir() if p != dest]

    # a second call trusts the marker: the archive is not opened again
    stamp = os.stat(dest).st_mtime_ns
    monkeypatch.setattr(coremof.tarfile, "open", None)
    assert coremof.extract(name="2014") == dest
    assert os.stat(dest).st_mtime_ns == stamp


def test_unknown_set_lists_the_valid_ones():
    with pytest.raises(DataError, match="2019-ASR"):
        coremof.extract(name="2020")


def test_table_is_the_property_csv():
    assert coremof.table().name == "2019-ASR.csv"

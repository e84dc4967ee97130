"""Hostile zip archives: each member on its own, sizes counted as written, a budget,
a bound on the compression ratio, and nothing left behind by a failure."""

from __future__ import annotations

import struct
import zipfile

import pytest

from retvis.core.archive import MAX_RATIO, extract_cifs
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


def _patch_first(path, local_at, central_at, fn):
    """Rewrite a 16-bit field of the first member, in its local and central headers."""
    raw = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", local_at), (b"PK\x01\x02", central_at)):
        k = raw.find(sig) + at
        struct.pack_into("<H", raw, k, fn(struct.unpack_from("<H", raw, k)[0]))
    path.write_bytes(bytes(raw))
    return path


def _good():
    return demo(GOOD).read_text()


def _bad_then_good(path):
    return _zip(path, [("bad.cif", _good()), ("good.cif", _good())])


def test_a_bad_member_is_a_failure_and_the_rest_is_extracted(tmp_path):
    """Encrypted (flag bit 0), bad CRC (a flipped byte), unsupported compression (method
    99), unsafe name: one failure each, named and with its reason; the good CIF beside
    it is extracted."""
    enc = _patch_first(_bad_then_good(tmp_path / "enc.zip"), 6, 8, lambda f: f | 0x1)
    odd = _patch_first(_bad_then_good(tmp_path / "odd.zip"), 8, 10, lambda _: 99)
    crc = _bad_then_good(tmp_path / "crc.zip")
    raw = bytearray(crc.read_bytes())
    raw[raw.find(b"data_") + 10] ^= 0xFF  # stored: the first member's bytes, wrong CRC now
    crc.write_bytes(bytes(raw))
    for archive, reason in ((enc, "encrypted"), (crc, "CRC"), (odd, "compression")):
        got = extract_cifs(archive, tmp_path / "cache")
        assert [w for w, _ in got.failures] == ["bad.cif"]
        assert reason in got.failures[0][1], got.failures
        assert (got.folder / "good.cif").read_text() == _good()
        assert not (got.folder / "bad.cif").exists()
    both = _zip(tmp_path / "both.zip", [("../up.cif", _good()), ("ok/good.cif", _good())])
    got = extract_cifs(both, tmp_path / "cache")
    assert [r for _, r in got.failures] == ["unsafe member name '../up.cif'"]
    assert (got.folder / "ok" / "good.cif").read_text() == _good()
    assert not (tmp_path / "cache" / "up.cif").exists()


def test_a_zip_bomb_is_stopped_after_megabytes_and_leaves_nothing(tmp_path):
    """64 MiB of one repeated byte compresses about 1000x: refused by the ratio bound
    after a few MiB, with no file (partial or whole) left in the cache."""
    bomb = _zip(tmp_path / "bomb.zip", [("x.cif", b"A" * (64 * 2**20))], zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 2**20
    got = extract_cifs(bomb, tmp_path / "cache")
    assert len(got.failures) == 1 and f"more than {MAX_RATIO}x" in got.failures[0][1]
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


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

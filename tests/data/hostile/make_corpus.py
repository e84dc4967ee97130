"""Regenerate the hostile-input corpus and MANIFEST.csv in this folder.

The second round of bad inputs, as an attacker or an unlucky user would bring them:
valid but costly crystals, damaged archives, damaged or foreign project files, CIFs that
say too little or too much. ``tests/core/test_hostile.py`` runs every row of the manifest
under a memory cap, so a regression fails the test instead of the machine. Run
``python3 tests/data/hostile/make_corpus.py`` from the repository root after changing a
case; commit the files (all are small: the zip bomb is 64 KiB that inflate to 64 MiB).
Inputs that cannot be files in a repository (FIFOs, devices, symlink loops, 200,000-atom
cells, damaged screen outputs) are made at test time by ``tests/core/test_bad_inputs.py``
and ``tests/cli/test_screen_cli.py``; bad label tables are in ``tests/data/bad/``.

MANIFEST.csv columns:

- ``file``: the input, in this folder.
- ``stage``: ``read`` (``read_structure``), ``grid`` (``compute_grid`` of the sphere and
  the CO2 probe), ``archive`` (``extract_cifs``), ``project`` (``Project(...).records()``).
- ``expect``: ``atoms=N`` (it reads, with N atoms); ``error=TEXT`` (a ``RetvisError``
  whose message contains TEXT); ``same-grid=NAME`` (its grid equals the demo NAME's, in
  under a second); ``grid`` (it computes); ``members=BAD:TEXT|...;ok=NAME|...`` (each bad
  member a failure with TEXT, the good ones extracted, nothing else left);
  ``unchanged`` after an error means not a byte of the file may change.
- ``cap_mb``: the memory the case may take beyond the test process, MiB.
"""

from __future__ import annotations

import csv
import sqlite3
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEMO = REPO / "resources" / "demo"

FCC = """data_{name}
_cell_length_a 10.0
_cell_length_b 10.0
_cell_length_c 10.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
{symmetry}
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
Cu1 Cu 0.0 0.0 0.0
O1 O 0.25 0.25 0.25
"""


def p1_cif(name: str, lattice: np.ndarray, frac: np.ndarray, species) -> str:
    """A P1 CIF of a cell given by its lattice rows (Å) and fractional coordinates."""
    a, b, c = np.linalg.norm(lattice, axis=1)

    def angle(u, v):
        return float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))

    al, be, ga = angle(lattice[1], lattice[2]), angle(lattice[0], lattice[2]), angle(*lattice[:2])
    lines = [f"data_{name}", "_symmetry_space_group_name_H-M 'P 1'"]
    lines += [f"_cell_length_{k} {v:.10f}" for k, v in zip("abc", (a, b, c), strict=True)]
    lines += [f"_cell_angle_{k} {v:.10f}" for k, v in zip(("alpha", "beta", "gamma"),
                                                          (al, be, ga), strict=True)]  # fmt: skip
    lines += ["loop_", "_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x",
              "_atom_site_fract_y", "_atom_site_fract_z"]  # fmt: skip
    for i, (e, f) in enumerate(zip(species, frac % 1.0, strict=True)):
        lines.append(f"{e}{i + 1} {e} {f[0]:.12f} {f[1]:.12f} {f[2]:.12f}")
    return "\n".join(lines) + "\n"


def _zip(path: Path, members, method=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # reproducible
            info.compress_type = method
            zf.writestr(info, data)
    return path


def _patch_first(path: Path, local_at: int, central_at: int, fn) -> None:
    """Rewrite a 16-bit field of the first member, in its local and central headers."""
    raw = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", local_at), (b"PK\x01\x02", central_at)):
        k = raw.find(sig) + at
        struct.pack_into("<H", raw, k, fn(struct.unpack_from("<H", raw, k)[0]))
    path.write_bytes(bytes(raw))


def _project(path: Path, *damage: str) -> None:
    sys.path.insert(0, str(REPO))
    from retvis.core.project import MaterialRecord, Project

    path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "p.retvis"
        with Project(f) as p:
            p.save([MaterialRecord(f"d{i}", f"m{i}", f"/x/m{i}.cif", "ok", n_atoms=10 + i,
                                   pred_mean=1.5 * i) for i in range(400)])  # fmt: skip
        db = sqlite3.connect(str(f))
        db.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        for s in damage:
            db.execute(s)
        db.commit()
        db.execute("VACUUM")
        db.close()
        path.write_bytes(f.read_bytes())


def main() -> None:
    sys.path.insert(0, str(REPO))
    from retvis.core.structure import read_structure

    rows: list[tuple[str, str, str, int]] = []
    good = (DEMO / "PEKKAS_clean.cif").read_text()

    def put(name: str, data: str | bytes, stage: str, expect: str, cap_mb: int = 256) -> None:
        f = HERE / name
        f.write_bytes(data.encode() if isinstance(data, str) else data)
        rows.append((name, stage, expect, cap_mb))

    # -- crystals that are valid but were costly, or say too little or too much --------
    s = read_structure(DEMO / "PEKKAS_clean.cif")
    # unimodular: the same lattice, widths down to 0.63 Å (the reader refuses below 0.5)
    u = np.array([[1, 0, 0], [5, 1, 0], [3, 4, 1]])
    put("skewed_pekkas.cif", p1_cif("skewed_pekkas", u @ s.lattice, s.frac @ np.linalg.inv(u),
        s.species), "grid", "same-grid=PEKKAS_clean", 500)  # fmt: skip
    put("one_atom_200A_cube.cif", p1_cif("one_atom_200A_cube", np.eye(3) * 200.0,
        np.zeros((1, 3)), ["C"]), "grid", "grid", 1024)  # fmt: skip
    put("space_group_number_only.cif", FCC.format(name="n", symmetry="_space_group_IT_number 225"),
        "read", "atoms=12")  # fmt: skip
    put("space_group_number_999.cif", FCC.format(name="n", symmetry="_space_group_IT_number 999"),
        "read", "error=space group number 999")  # fmt: skip
    put("two_structures.cif", good + "\n" + good.replace("data_PEKKAS_clean", "data_other", 1),
        "read", "error=2 structures in one file")  # fmt: skip
    put("occupancy_1e9.cif", good.replace("Uiso   1.00", "Uiso   1e9", 2), "read",
        "error=occupancy outside [0, 1]")  # fmt: skip
    put("first_block_empty.cif", "data_nothing_here\n\n" + good, "read", f"atoms={s.n_atoms}")

    # -- archives: each member on its own -----------------------------------------------
    for name, (local, central, fn), reason in (
        ("encrypted_member.zip", (6, 8, lambda f: f | 0x1), "encrypted"),
        ("unsupported_compression.zip", (8, 10, lambda _: 99), "compression"),
    ):
        _zip(HERE / name, [("bad.cif", good), ("good.cif", good)])
        _patch_first(HERE / name, local, central, fn)
        rows.append((name, "archive", f"members=bad.cif:{reason};ok=good.cif", 256))
    crc = _zip(HERE / "bad_crc.zip", [("bad.cif", good), ("good.cif", good)])
    raw = bytearray(crc.read_bytes())
    raw[raw.find(b"data_") + 10] ^= 0xFF  # stored: the first member's bytes, wrong CRC now
    crc.write_bytes(bytes(raw))
    rows.append(("bad_crc.zip", "archive", "members=bad.cif:CRC;ok=good.cif", 256))
    _zip(HERE / "unsafe_name.zip", [("../up.cif", good), ("ok/good.cif", good)])
    rows.append(("unsafe_name.zip", "archive",
                 "members=../up.cif:unsafe member name;ok=ok/good.cif", 256))  # fmt: skip
    _zip(HERE / "zip_bomb.zip", [("x.cif", b"A" * (64 * 2**20))], zipfile.ZIP_DEFLATED)
    rows.append(("zip_bomb.zip", "archive", "members=x.cif:more than;ok=", 256))

    # -- project files: a RetVis project of a known version, or a named error -----------
    foreign = HERE / "foreign_materials_table.retvis"
    foreign.unlink(missing_ok=True)
    db = sqlite3.connect(str(foreign))
    db.execute("CREATE TABLE materials (id INTEGER, what TEXT)")
    db.execute("INSERT INTO materials VALUES (1, 'x')")
    db.commit()
    db.close()
    rows.append((foreign.name, "project", "error=an SQLite database without;unchanged", 256))
    for name, damage, expect in (
        ("schema_of_wrong_type.retvis", "UPDATE meta SET value = 'two' WHERE key = 'schema'",
         "schema version is 'two'"),
        ("text_in_a_number_column.retvis",
         "UPDATE materials SET pred_mean = 'lots' WHERE digest = 'd1'",
         "material 'd1': column pred_mean holds 'lots'"),
        ("missing_column.retvis", "ALTER TABLE materials DROP COLUMN label",
         "lacks column(s) label"),
        ("no_schema_version.retvis", "DELETE FROM meta", "no schema version"),
    ):  # fmt: skip
        _project(HERE / name, damage)
        rows.append((name, "project", f"error={expect}", 256))
    _project(HERE / "corrupted_page.retvis")
    raw = bytearray((HERE / "corrupted_page.retvis").read_bytes())
    for i in range(2 * 4096, min(len(raw), 5 * 4096)):
        raw[i] = (raw[i] * 7 + 13) % 256  # pages 3-5 scrambled
    (HERE / "corrupted_page.retvis").write_bytes(bytes(raw))
    rows.append(("corrupted_page.retvis", "project", "error=damaged", 256))

    with open(HERE / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file", "stage", "expect", "cap_mb"])
        w.writerows(rows)


if __name__ == "__main__":
    main()

"""Regenerate the bad-input corpus and MANIFEST.csv in this folder.

Run ``python3 tests/data/bad/make_corpus.py`` from the repository root after changing a
case; commit the files. Large and pathological inputs (a 200,000-atom cell, 10,000
files, a zip bomb, symlink loops, FIFOs...) are not here: ``tests/core/test_bad_inputs.py``
makes them in ``tmp_path`` at test time.

MANIFEST.csv columns:

- ``file``: the input, in this folder.
- ``stage``: ``read`` (``read_structure`` must raise), ``grid`` (reading works,
  ``compute_grid`` must raise), ``ok`` (must work; ``message`` is then the expected
  formula), ``labels`` (``read_labels`` must raise), ``weights`` (the weights loader
  must raise).
- ``kind``: the ``RetvisError.kind`` expected (``ok`` rows: empty).
- ``message``: a fragment the error's reason must contain (case-sensitive).
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
import random
import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[2] / "resources" / "demo"

HEAD = """data_{name}
_symmetry_space_group_name_H-M 'P1'
_cell_length_a {a}
_cell_length_b {b}
_cell_length_c {c}
_cell_angle_alpha {al}
_cell_angle_beta {be}
_cell_angle_gamma {ga}
"""
LOOP = """loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
"""
ROWS = ["Cu1 Cu 0.10 0.10 0.10", "O1 O 0.30 0.30 0.30", "C1 C 0.60 0.50 0.40"]


def cif(rows=ROWS, name="t", a=10, b=10, c=10, al=90, be=90, ga=90, head=HEAD, loop=LOOP):
    text = head.format(name=name, a=a, b=b, c=c, al=al, be=be, ga=ga)
    if loop:
        text += loop + "".join(f"{r}\n" for r in rows)
    return text


def demo_text(name: str) -> str:
    return (DEMO / f"{name}.cif").read_text()


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"\x00\xff\x00\x00"  # one red pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class _Foreign:
    """Unpickling this calls print(): a loader that runs it is unsafe."""

    def __reduce__(self):
        return (print, ("FOREIGN PICKLE EXECUTED",))


def cases():
    """(file, stage, kind, message, content) for every committed case."""
    senwal = demo_text("SENWAL_clean")
    fiqcen = demo_text("FIQCEN_clean")
    rnd = random.Random(8)
    garbage = bytes(rnd.randrange(256) for _ in range(2048))
    garbage = b"\x01" + garbage[1:] if garbage[:1] in (b"\x89", b"\xff", b"\x1f") else garbage
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("FIQCEN_clean.cif", fiqcen)
    lines = fiqcen.splitlines(keepends=True)
    cut_row = next(i for i, ln in enumerate(lines) if ln.startswith("H5 "))
    loop_at = max(i for i, ln in enumerate(lines) if ln.startswith("loop_"))
    # partial occupancy: first atom of SENWAL at 0.5
    sl = senwal.splitlines()
    occ_col = [ln.strip() for ln in sl if ln.strip().startswith("_atom_site_")]
    k = occ_col.index("_atom_site_occupancy")
    first = next(
        i
        for i, ln in enumerate(sl)
        if ln.split() and len(ln.split()) == len(occ_col) and not ln.startswith("_")
    )
    parts = sl[first].split()
    parts[k] = "0.5"
    sl[first] = " ".join(parts)
    partial = "\n".join(sl) + "\n"
    # an extra carbon 0.2 Å from FIQCEN's C1 (x of C1 + 0.2 Å along a)
    c1 = next(ln for ln in lines if ln.startswith("C1 ")).split()
    x = float(c1[2]) + 0.2 / 18.6273
    overlap = fiqcen.rstrip("\n") + f"\nC99 C {x:.5f} {c1[3]} {c1[4]} 0.01267 Uiso 1.00\n"

    yield "empty.cif", "read", "structure", "file is empty", b""
    yield "whitespace_only.cif", "read", "structure", "file is empty", b"  \n\n\t \r\n"
    yield "binary_garbage.cif", "read", "structure", "contains binary data", garbage
    yield "png_renamed.cif", "read", "structure", "not a CIF file: it is a PNG image", png_bytes()
    yield (
        "jpeg_renamed.cif",
        "read",
        "structure",
        "it is a JPEG image",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(64),
    )
    yield (
        "pdf_renamed.cif",
        "read",
        "structure",
        "it is a PDF document",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    )
    yield "zip_renamed.cif", "read", "structure", "it is a zip archive", zbuf.getvalue()
    yield (
        "gzip_renamed.cif",
        "read",
        "structure",
        "it is a gzip archive",
        gzip.compress(fiqcen.encode(), mtime=0),
    )
    yield (
        "pickle_renamed.cif",
        "read",
        "structure",
        "it is a Python pickle",
        pickle.dumps({"not": "a cif"}, protocol=4),
    )
    yield ("utf16.cif", "read", "structure", "UTF-16 text", cif().encode("utf-16"))
    yield (
        "html_page.cif",
        "read",
        "structure",
        "expected block header (data_)",
        b"<!DOCTYPE html>\n<html><body><h1>404 Not Found</h1></body></html>\n",
    )
    yield (
        "xyz_file.cif",
        "read",
        "structure",
        "expected block header (data_)",
        b"3\nwater\nO 0.0 0.0 0.0\nH 0.76 0.59 0.0\nH -0.76 0.59 0.0\n",
    )
    yield (
        "pdb_file.cif",
        "read",
        "structure",
        "malformed CIF",
        b"CRYST1   10.000   10.000   10.000  90.00  90.00  90.00 P 1           1\n"
        b"ATOM      1  C   UNK A   1       1.000   1.000   1.000  1.00  0.00           C\nEND\n",
    )
    yield (
        "no_data_block.cif",
        "read",
        "structure",
        "expected block header (data_)",
        LOOP.encode() + b"C1 C 0.1 0.1 0.1\n",
    )
    yield (
        "truncated_mid_row.cif",
        "read",
        "structure",
        "Wrong number of values in loop",
        ("".join(lines[:cut_row]) + lines[cut_row][:12]).encode(),
    )
    yield (
        "truncated_before_atoms.cif",
        "read",
        "structure",
        "no atoms",
        "".join(lines[:loop_at]).encode(),
    )
    yield (
        "no_cell.cif",
        "read",
        "structure",
        "no unit cell",
        ("data_x\n" + LOOP + "C1 C 0.1 0.1 0.1\n").encode(),
    )
    yield (
        "missing_cell_c.cif",
        "read",
        "structure",
        "_cell_length_c missing",
        cif().replace("_cell_length_c 10\n", "").encode(),
    )
    yield (
        "cell_unknown_value.cif",
        "read",
        "structure",
        "_cell_length_a is unknown (?)",
        cif(a="?").encode(),
    )
    yield (
        "cell_text_value.cif",
        "read",
        "structure",
        "cell parameter _cell_length_b is not a finite number: 'ten'",
        cif(b="ten").encode(),
    )
    yield (
        "cell_nan.cif",
        "read",
        "structure",
        "_cell_angle_beta is not a finite number",
        cif(be="nan").encode(),
    )
    yield (
        "cell_angle_unknown.cif",
        "read",
        "structure",
        "_cell_angle_gamma is unknown (?)",
        cif(ga="?").encode(),
    )
    yield (
        "zero_length.cif",
        "read",
        "structure",
        "cell lengths must be in (0, 1000] Å",
        cif(a=0).encode(),
    )
    yield (
        "negative_length.cif",
        "read",
        "structure",
        "cell lengths must be in (0, 1000] Å",
        cif(c=-12.5).encode(),
    )
    yield (
        "huge_length.cif",
        "read",
        "structure",
        "cell lengths must be in (0, 1000] Å",
        cif(a="1e300").encode(),
    )
    yield (
        "angle_out_of_range.cif",
        "read",
        "structure",
        "cell angles must be in (0, 180) degrees, got (90, 450, 90)",
        cif(be=450).encode(),
    )
    yield (
        "zero_volume.cif",
        "read",
        "structure",
        "the angles (90, 45, 45) do not make a cell: its volume is",
        cif(al=90, be=45, ga=45).encode(),
    )
    yield (
        "impossible_angles.cif",
        "read",
        "structure",
        "the angles (150, 150, 150) do not make a cell: its volume is not a real number",
        cif(al=150, be=150, ga=150).encode(),
    )
    yield (
        "degenerate_angles.cif",
        "read",
        "structure",
        "cell is too thin",
        cif(al=120, be=120, ga=120).encode(),
    )
    yield ("skewed_cell.cif", "read", "structure", "cell is too thin", cif(ga=179.999).encode())
    yield (
        "nan_coordinates.cif",
        "read",
        "structure",
        "non-numeric or non-finite coordinates for site(s) O1",
        cif(["Cu1 Cu 0.1 0.1 0.1", "O1 O nan 0.3 0.3"]).encode(),
    )
    yield (
        "unknown_coordinates.cif",
        "read",
        "structure",
        "non-numeric or non-finite coordinates for site(s) Cu1",
        cif(["Cu1 Cu 0.1 ? 0.1", "O1 O 0.3 0.3 0.3"]).encode(),
    )
    yield (
        "text_coordinates.cif",
        "read",
        "structure",
        "non-numeric or non-finite coordinates for site(s) C1",
        cif(["C1 C abc 0.1 0.1"]).encode(),
    )
    yield (
        "infinite_coordinates.cif",
        "read",
        "structure",
        "non-numeric or non-finite coordinates for site(s) C1",
        cif(["C1 C inf 0.1 0.1"]).encode(),
    )
    yield (
        "huge_coordinates.cif",
        "read",
        "structure",
        "fractional coordinates beyond +-1000 for site(s) O1",
        cif(["Cu1 Cu 0.1 0.1 0.1", "O1 O 1e300 0.3 0.3"]).encode(),
    )
    yield (
        "coordinates_outside_cell.cif",
        "ok",
        "",
        "CCuO",  # wrapped into the cell
        cif(["Cu1 Cu 1.1 -0.9 2.1", "O1 O -0.7 0.3 0.3", "C1 C 0.6 0.5 -1.6"]).encode(),
    )
    yield (
        "partial_occupancy.cif",
        "read",
        "structure",
        "disordered structure: 1 site(s) with partial occupancy",
        partial.encode(),
    )
    yield (
        "disorder_alternatives.cif",
        "read",
        "structure",
        "2 site(s) with partial occupancy, e.g. C1A (0.5), C1B (0.5)",
        (
            cif(
                ["Cu1 Cu 0.1 0.1 0.1 1", "C1A C 0.5 0.5 0.50 0.5", "C1B C 0.5 0.5 0.56 0.5"],
                loop=LOOP + "_atom_site_occupancy\n",
            )
        ).encode(),
    )
    yield (
        "unknown_element.cif",
        "read",
        "structure",
        "unknown element for site(s) Q1",
        cif(["Q1 Xx 0.1 0.1 0.1", "O1 O 0.3 0.3 0.3"]).encode(),
    )
    yield (
        "element_not_in_forcefield.cif",
        "grid",
        "forcefield",
        "no UFF Lennard-Jones parameters for element(s) Og",
        cif(["Og1 Og 0.1 0.1 0.1", "O1 O 0.3 0.3 0.3"]).encode(),
    )
    yield (
        "overlapping_atoms.cif",
        "read",
        "structure",
        "overlapping atoms: 1 pair(s) closer than 0.5 Å, e.g. C1-C99 0.200 Å",
        overlap.encode(),
    )
    yield (
        "overlapping_across_boundary.cif",
        "read",
        "structure",
        "overlapping atoms: 1 pair(s) closer than 0.5 Å, e.g. Cu1-Cu2 0.010 Å",
        cif(["Cu1 Cu 0.0005 0.5 0.5", "Cu2 Cu 0.9995 0.5 0.5", "O1 O 0.3 0.3 0.3"]).encode(),
    )
    yield (
        "overlapping_duplicate_site.cif",
        "read",
        "structure",
        "O1-O1dup 0.000 Å",
        cif(ROWS + ["O1dup O 0.30 0.30 0.30"]).encode(),
    )
    yield (
        "symmetry_overlap.cif",
        "read",
        "structure",
        "overlapping atoms",
        cif(["Cu1 Cu 0.022 0.1 0.2"]).replace("'P1'", "'F m -3 m'").encode(),
    )
    yield ("no_atoms.cif", "read", "structure", "no atoms", cif(loop="").encode())
    yield (
        "cartesian_coordinates_only.cif",
        "read",
        "structure",
        "only Cartesian coordinates (_atom_site_Cartn_x/y/z)",
        cif(["C1 C 1.0 2.0 3.0"], loop=LOOP.replace("fract", "Cartn")).encode(),
    )
    yield (
        "missing_coordinate_column.cif",
        "read",
        "structure",
        "coordinate column(s) _atom_site_fract_z missing",
        cif(
            ["C1 C 0.1 0.2", "O1 O 0.3 0.4"], loop=LOOP.replace("_atom_site_fract_z\n", "")
        ).encode(),
    )
    yield ("empty_atom_loop.cif", "read", "structure", "no atoms", cif(rows=[]).encode())
    yield (
        "invalid_symmetry_operation.cif",
        "read",
        "structure",
        "symmetry operations 'x,y,w' are invalid",
        cif()
        .replace(
            "_symmetry_space_group_name_H-M 'P1'\n", "loop_\n_symmetry_equiv_pos_as_xyz\nx,y,w\n"
        )
        .encode(),
    )
    yield (
        "symmetry_not_a_group.cif",
        "read",
        "structure",
        "do not form a space group",
        cif()
        .replace(
            "_symmetry_space_group_name_H-M 'P1'\n",
            "loop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\n-x,-y,-z\nx+1/2,y,z\n",
        )
        .encode(),
    )
    yield (
        "unknown_space_group.cif",
        "read",
        "structure",
        "unknown space group 'P 9 9 9'",
        cif().replace("'P1'", "'P 9 9 9'").encode(),
    )
    yield (
        "unquoted_space_group.cif",
        "read",
        "structure",
        "malformed CIF (line 2)",
        cif().replace("'P1'", "P 1").encode(),
    )
    yield (
        "unterminated_text_field.cif",
        "read",
        "structure",
        "unterminated text field",
        (cif() + "_publ_section_title\n;\nA title that never ends\n").encode(),
    )
    yield (
        "unterminated_quote.cif",
        "read",
        "structure",
        "unterminated 'string'",
        (cif() + "_chemical_name_common 'MOF-5\n").encode(),
    )
    yield (
        "duplicate_tag.cif",
        "read",
        "structure",
        "duplicate tag _cell_length_a",
        (cif() + "_cell_length_a 11\n").encode(),
    )
    yield (
        "wrong_value_count.cif",
        "read",
        "structure",
        "Wrong number of values in loop",
        cif(["Cu1 Cu 0.1 0.1 0.1 0.5", "O1 O 0.3 0.3 0.3"]).encode(),
    )
    # inputs that must WORK
    yield (
        "oxidation_state_labels.cif",
        "ok",
        "",
        "C72H24Cu12O48",
        fiqcen.replace("    Cu    ", "    Cu2+  ").replace("    O     ", "    O2-   ").encode(),
    )
    yield (
        "oxidation_labels_no_type_symbol.cif",
        "ok",
        "",
        "CuO",
        (
            b"data_t\n_cell_length_a 10\n_cell_length_b 10\n_cell_length_c 10\n"
            b"_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
            b"loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
            b"_atom_site_fract_z\nCu2+ 0.1 0.1 0.1\nO2- 0.3 0.3 0.3\n"
        ),
    )
    yield (
        "deuterium.cif",
        "ok",
        "",
        "C72H24Cu12O48",
        fiqcen.replace("    H     ", "    D     ").encode(),
    )
    yield (
        "latin1_comment.cif",
        "ok",
        "",
        "CCuO",
        ("# auteur: Fran\u00e7ois M\u00fcller, \u00a9 2019\n" + cif()).encode("latin-1"),
    )
    yield ("utf8_bom.cif", "ok", "", "CCuO", b"\xef\xbb\xbf" + cif().encode())
    yield ("crlf_line_endings.cif", "ok", "", "CCuO", cif().replace("\n", "\r\n").encode())
    yield (
        "angles_omitted.cif",
        "ok",
        "",
        "CCuO",  # CIF default: 90 degrees
        "".join(ln for ln in cif().splitlines(keepends=True) if "_cell_angle" not in ln).encode(),
    )
    yield (
        "second_block_has_cell.cif",
        "ok",
        "",
        "CCuO",
        ("data_global\n_journal_name_full 'J. Porous Mater.'\n" + cif()).encode(),
    )
    # labels tables (retvis.core.labels.read_labels)
    yield (
        "labels_missing_name.csv",
        "labels",
        "data",
        "row 3: missing name",
        b"name,uptake\nA,1.0\n,2.0\n",
    )
    yield (
        "labels_duplicated_name.csv",
        "labels",
        "data",
        "row 4: duplicated name 'A' (first in row 2)",
        b"name,uptake\nA,1\nB,2\nA,3\n",
    )
    yield (
        "labels_text_value.csv",
        "labels",
        "data",
        "row 3 (B): uptake is not a number: 'high'",
        b"name,uptake\nA,1\nB,high\n",
    )
    yield (
        "labels_nan_value.csv",
        "labels",
        "data",
        "row 2 (A): uptake is 'NaN', not finite",
        b"name,uptake\nA,NaN\n",
    )
    yield (
        "labels_negative_value.csv",
        "labels",
        "data",
        "row 3 (B): negative uptake -0.5",
        b"name,uptake\nA,0\nB,-0.5\n",
    )
    yield (
        "labels_no_name_column.csv",
        "labels",
        "data",
        "no 'name' column",
        b"material,uptake\nA,1\n",
    )
    yield ("labels_header_only.csv", "labels", "data", "no labels", b"name,uptake\n")
    yield (
        "labels_two_value_columns.csv",
        "labels",
        "data",
        "cannot tell which column holds the uptake",
        b"name,co2,ch4\nA,1,2\n",
    )
    yield ("labels_binary.csv", "labels", "data", "not UTF-8 text", png_bytes())
    # weights files (retvis.ml.weights, built by the ML helper)
    # (the test puts each in a model folder; the foreign pickle gets a matching SHA-256 in
    # model.json so that unpickling is what must refuse it, the other a wrong SHA-256)
    yield (
        "weights_foreign_pickle.pt",
        "weights",
        "weights",
        "not a weights file torch can read safely",
        pickle.dumps(_Foreign(), protocol=2),
    )
    yield (
        "weights_wrong_sha256.pt",
        "weights",
        "weights",
        "SHA-256 mismatch",
        b"weights replaced after the model was saved\n",
    )


def main() -> None:
    rows = []
    for name, stage, kind, message, content in cases():
        (HERE / name).write_bytes(content)
        rows.append([name, stage, kind, message])
    with open(HERE / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file", "stage", "kind", "message"])
        w.writerows(rows)
    print(f"{len(rows)} cases written to {HERE}")


if __name__ == "__main__":
    main()

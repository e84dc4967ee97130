"""Tables for people: formula-leading text escaped, every text cell quoted."""

import csv
import io

from retvis.core.csvout import safe_cell, table_text, write_csv


def test_formula_cells_are_escaped_and_numbers_are_not():
    assert safe_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    for s in ("+1+2", "-cmd", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(s) == "'" + s
    assert safe_cell("-1.5e3") == "-1.5e3" and safe_cell(-2.0) == -2.0
    assert safe_cell("MOF-5") == "MOF-5"


def test_a_table_reads_back_with_commas_quotes_and_escapes(tmp_path):
    rows = [["a,b", 1.5, None], ["=1+1", -3, 'say "hi"']]
    text = table_text(["name", "x", "note"], rows)
    assert text.splitlines()[2].startswith('"\'=1+1",-3')
    back = list(csv.reader(io.StringIO(text)))
    assert back[1][0] == "a,b" and back[2][0] == "'=1+1" and back[2][2] == 'say "hi"'
    write_csv(tmp_path / "t.csv", ["name", "x", "note"], rows)
    assert (tmp_path / "t.csv").read_text() == text

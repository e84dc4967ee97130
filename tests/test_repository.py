"""The repository stands on its own: nothing in it reads or cites a file outside it."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO

#: Names of places outside the repository that code or docs once relied on; assembled
#: from parts so that this file does not match itself.
OUTSIDE = [
    "METHOD" + ".md",
    ".." + "/shared",
    "shared" + "/data",
    "shared" + "/reference",
    "/" + "work/",
]
TEXT = (".py", ".md", ".txt", ".toml", ".cfg", ".sh", ".json", ".yml", ".yaml", "")


def _tracked() -> list:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    keep = []
    for name in out:
        path = REPO / name
        if not path.is_file() or path.suffix not in TEXT or path.stat().st_size > 2_000_000:
            continue
        if name.startswith(("resources/datasets/", "resources/curated-cofs/cifs/")):
            continue  # data tables: provenance columns record where a label was made
        keep.append(path)
    return keep


def test_nothing_names_a_place_outside_the_repository():
    hits = []
    for path in _tracked():
        text = path.read_text(encoding="utf-8", errors="replace")
        for needle in OUTSIDE:
            if needle in text:
                line = text[: text.index(needle)].count("\n") + 1
                hits.append(f"{path.relative_to(REPO)}:{line}: {needle}")
    assert not hits, "\n".join(hits)


def test_every_cited_document_is_in_the_repository():
    cited = re.compile(r"\bdocs/[\w.\-/]+\.(?:md|txt|csv)\b")
    missing = []
    for path in _tracked():
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in cited.finditer(text):
            if not (REPO / m.group(0)).is_file():
                missing.append(f"{path.relative_to(REPO)}: {m.group(0)}")
    assert not missing, "\n".join(sorted(set(missing)))

"""The SQLite project store: round trips, updates, WAL mode, foreign files."""

from __future__ import annotations

import sqlite3

import pytest

from retvis.core.project import MaterialRecord, Project, ProjectError


def _rec(i: int, **kw) -> MaterialRecord:
    return MaterialRecord(digest=f"{i:064x}", name=f"mat{i}", path=f"/data/mat{i}.cif", **kw)


def test_round_trip_keeps_order_and_fields(tmp_path):
    path = tmp_path / "p.retvis"
    with Project(path) as p:
        p.save([_rec(3), _rec(1, status="failed", kind="structure", reason="no unit cell")])
        p.save(
            [
                _rec(
                    2,
                    status="ok",
                    formula="C2H4",
                    n_atoms=6,
                    volume=123.5,
                    pred_mean=1.5,
                    pred_std=0.25,
                    pred_model="m",
                    label=1.25,
                    label_source="gcmc.csv",
                    seconds=0.5,
                )
            ]
        )
        p.set_meta("grid_spec", '{"n": 25}')
        p.record_model("m", "abc123", {"target": "CH4"})
    with Project(path) as p:
        recs = p.records()
        assert [r.name for r in recs] == ["mat3", "mat1", "mat2"]
        assert recs[1].reason == "no unit cell" and recs[1].status == "failed"
        assert recs[2] == _rec(
            2,
            status="ok",
            formula="C2H4",
            n_atoms=6,
            volume=123.5,
            pred_mean=1.5,
            pred_std=0.25,
            pred_model="m",
            label=1.25,
            label_source="gcmc.csv",
            seconds=0.5,
        )
        assert p.get_meta("grid_spec") == '{"n": 25}'
        assert p.models()[0]["card"] == {"target": "CH4"}
        assert len(p) == 3


def test_update_by_digest_keeps_position(tmp_path):
    with Project(tmp_path / "p.retvis") as p:
        p.save([_rec(1), _rec(2)])
        p.save([_rec(1, status="ok", n_atoms=10)])
        recs = p.records()
        assert [r.name for r in recs] == ["mat1", "mat2"]
        assert recs[0].status == "ok" and recs[0].n_atoms == 10
        p.remove([_rec(1).digest])
        assert [r.name for r in p.records()] == ["mat2"]


def test_wal_mode_and_save_as(tmp_path):
    with Project(tmp_path / "a.retvis") as p:
        p.save([_rec(1)])
        mode = p._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        q = p.save_as(tmp_path / "sub" / "b.retvis")
        assert [r.name for r in q.records()] == ["mat1"]
        q.close()


def test_foreign_files_are_refused(tmp_path):
    f = tmp_path / "not.retvis"
    f.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="not a RetVis project"):
        Project(f)
    newer = tmp_path / "newer.retvis"
    with Project(newer) as p:
        p.set_meta("schema", "999")
    with pytest.raises(ProjectError, match="newer RetVis"):
        Project(newer)


def test_concurrent_reader_sees_committed_rows(tmp_path):
    path = tmp_path / "p.retvis"
    with Project(path) as p:
        p.save([_rec(1)])
        db = sqlite3.connect(str(path))  # e.g. a second app instance or a script
        assert db.execute("SELECT name FROM materials").fetchall() == [("mat1",)]
        db.close()


def test_a_schema_1_project_opens_with_the_crystal_column(tmp_path):
    """Projects written before canonical cells have no ``crystal``: it is added, empty."""
    path = tmp_path / "old.retvis"
    db = sqlite3.connect(str(path))
    cols = ["digest TEXT PRIMARY KEY"]
    cols += [
        f"{c} TEXT"
        for c in (
            "name",
            "path",
            "status",
            "kind",
            "reason",
            "formula",
            "pred_model",
            "pred_note",
            "label_source",
        )
    ]
    cols += [
        f"{c} REAL" for c in ("n_atoms", "volume", "pred_mean", "pred_std", "label", "seconds")
    ]
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        f"CREATE TABLE materials ({', '.join(cols)}, position INTEGER NOT NULL, "
        "updated REAL NOT NULL);"
        "INSERT INTO meta VALUES ('schema', '1');"
        "INSERT INTO materials (digest, name, path, status, position, updated) "
        "VALUES ('abc', 'OLD', '/x/OLD.cif', 'ok', 0, 0);"
    )
    db.commit()
    db.close()
    p = Project(path)
    try:
        (rec,) = p.records()
        assert rec.name == "OLD" and rec.crystal == ""
        p.save([MaterialRecord("def", "NEW", "/x/NEW.cif", crystal="c0ffee")])
        assert {r.name: r.crystal for r in p.records()} == {"OLD": "", "NEW": "c0ffee"}
        assert p.get_meta("schema") == "2"
    finally:
        p.close()

"""The application model without Qt or a display: the session's materials, their ranks,
same-crystal notes, texts, order, filter and the events the Qt table observes."""

from __future__ import annotations

from retvis.app.materials import Materials, MaterialsFilter
from retvis.core.project import MaterialRecord


def rec(digest, name, pred=None, **kw):
    return MaterialRecord(digest=digest, name=name, path=f"/x/{name}.cif", status="ok",
                          pred_mean=pred, **kw)  # fmt: skip


def test_materials_rank_note_and_tell_their_observers():
    m = Materials()
    events = []
    m.subscribe(lambda e: events.append((e.kind, e.digests)))
    added = m.add([rec("1", "zeta", 2.0), rec("2", "alpha", 2.0), rec("1", "dup")])
    assert [r.name for r in added] == ["zeta", "alpha"] and len(m) == 2
    assert events == [("added", ("1", "2")), ("ranked", ())]
    assert (m.rank("2"), m.rank("1")) == (1, 2)  # equal predictions: by name
    events.clear()
    m.update_many({"1": {"pred_mean": 9.0, "crystal": "c"}, "2": {"crystal": "c"}, "x": {}})
    assert events[0] == ("changed", ("1", "2")) and ("ranked", ()) in events
    assert ("same", ("1", "2")) in events or ("same", ("2", "1")) in events
    assert m.rank("1") == 1 and m.same_crystal("1") == "same crystal as alpha"
    assert m.display(m.record("1"), "name") == "zeta ≡"
    m.remove(["1"])
    assert m.rank("2") == 1 and m.same_crystal("2") == "" and "1" not in m
    m.clear()
    assert events[-1] == ("cleared", ()) and len(m) == 0


def test_texts_order_and_filter_are_the_tables_rules():
    m = Materials()
    m.add([rec("a", "MOF-5", 1.23456, pred_std=0.1, formula="C24H12O13Zn4"),
           rec("b", "hkust", None, formula="C18H6Cu3O12"),
           rec("c", "Zif8", 3.0, pred_note="outside what the model learned")])  # fmt: skip
    assert m.display(m.record("a"), "uptake") == "1.235 ± 0.100"
    assert m.display(m.record("c"), "uptake") == "3.000 ⚠"
    assert m.display(m.record("a"), "status") == "done"
    m.predicting.add("a")
    assert m.display(m.record("a"), "status") == "predicting"
    assert [r.name for r in m.ordered("uptake", descending=True)] == ["Zif8", "MOF-5", "hkust"]
    assert [r.name for r in m.ordered("name")] == ["hkust", "MOF-5", "Zif8"]  # any case
    assert [r.name for r in m.ordered()] == ["MOF-5", "hkust", "Zif8"]
    shown = lambda f: [r.name for r in m.records() if m.accepts(r, f)]  # noqa: E731
    assert shown(MaterialsFilter(text="cu3")) == ["hkust"]
    assert shown(MaterialsFilter(low=2.0)) == ["Zif8"]
    assert shown(MaterialsFilter(statuses=frozenset({"predicting"}))) == ["MOF-5"]
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(m.to_table(m.ordered("rank")))))
    assert [(r["name"], r["rank"], r["status"]) for r in rows] == [
        ("Zif8", "1", "ok"), ("MOF-5", "2", "predicting"), ("hkust", "", "ok"),
    ]  # fmt: skip


def test_rows_being_simulated_are_marked_by_name():
    m = Materials()
    m.add([rec("a", "MOF-5", 1.0), rec("b", "hkust", 2.0)])
    events = []
    m.subscribe(lambda e: events.append((e.kind, e.digests)))
    m.set_simulating(["hkust"])
    assert m.display(m.record("b"), "status") == "simulating" and events == [("changed", ("b",))]
    assert [r.name for r in m.records() if m.accepts(r, MaterialsFilter(
        statuses=frozenset({"simulating"})))] == ["hkust"]  # fmt: skip
    m.set_simulating([])
    assert m.display(m.record("b"), "status") == "done"

"""The session's structures and energy grids in memory, without Qt.

:class:`GridMemory` keeps the structures read and the grids computed for the materials of
a :class:`~retvis.app.materials.Materials` (a bounded number of grids, oldest out; the
rest are read again from the grid cache), the grid settings a row failed under when the
failure may depend on them, and the rules that follow from grid settings: which grids a
newly loaded model (another probe, another size) needs computed again, which rows
Compute Again resubmits, which grids a result keeps. It forgets the materials removed
from the session. The Qt window computes and reads grids in the background and tells
this object what landed; every rule is tested without a display (``tests/app``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..core.batch import GridOutcome
from ..core.grid import EnergyGrid, GridSpec
from ..core.project import MaterialRecord
from ..core.structure import Structure
from .materials import Materials, MaterialsEvent
from .predictions import Predictions

#: Failure kinds that other grid settings may not meet (``RetvisError.kind``): the CO2
#: probe's EQeq charges (simulation), a grid limit, a force field without the element.
SPEC_DEPENDENT_FAILURES = frozenset({"simulation", "limit", "forcefield"})

#: Grids kept in memory (the oldest first out); older ones are read again from the cache.
MAX_GRIDS_IN_MEMORY = 2000


@dataclass
class Landing:
    """What a batch of grid results does to the rows (:meth:`GridMemory.land`): the
    field changes of each row, the rows to predict, and the rows computed with other
    settings than the loaded model's (to be computed again with its own)."""

    changes: dict[str, dict] = field(default_factory=dict)
    predict: list[str] = field(default_factory=list)
    again: set[str] = field(default_factory=set)


class GridMemory:
    """Structures and grids of the session's materials, by digest.

    Parameters
    ----------
    materials : Materials
        The session's records; removed or cleared materials are forgotten here too.
    max_grids : int
        Grids kept in memory.
    """

    def __init__(self, materials: Materials, max_grids: int = MAX_GRIDS_IN_MEMORY) -> None:
        self.materials = materials
        self.max_grids = max_grids
        self.structures: dict[str, Structure] = {}
        self.grids: dict[str, EnergyGrid] = {}
        # digest -> the grid settings it failed under (failures that depend on them)
        self._failed_spec: dict[str, GridSpec] = {}
        materials.subscribe(self._on_materials)

    def _on_materials(self, event: MaterialsEvent) -> None:
        if event.kind == "cleared":
            self.structures.clear()
            self.grids.clear()
            self._failed_spec.clear()
        elif event.kind == "removed":
            for key in event.digests:
                self.forget(key)

    def forget(self, key: str) -> None:
        """Drop a material's structure, grid and failure settings."""
        self.structures.pop(key, None)
        self.grids.pop(key, None)
        self._failed_spec.pop(key, None)

    def keep(self, key: str, grid: EnergyGrid, structure: Structure | None = None) -> None:
        """Hold a grid (and the structure it was computed from), dropping the oldest grid
        beyond :attr:`max_grids`."""
        if structure is not None:
            self.structures[key] = structure
        self.grids.pop(key, None)  # a new grid is the newest
        self.grids[key] = grid
        while len(self.grids) > self.max_grids:  # dicts keep insertion order
            self.grids.pop(next(iter(self.grids)))

    def outcome(self, key: str, status: str, kind: str, spec: GridSpec) -> None:
        """A row's grid job ended with ``status`` (and a failure ``kind``) under ``spec``:
        a failure of a kind that other settings may not meet
        (:data:`SPEC_DEPENDENT_FAILURES`) is remembered with them; any other outcome
        forgets it."""
        if status == "failed" and kind in SPEC_DEPENDENT_FAILURES:
            self._failed_spec[key] = spec
        else:
            self._failed_spec.pop(key, None)

    def grid_of(self, key: str, spec: GridSpec) -> EnergyGrid | None:
        """The material's grid in memory when it was made with ``spec``."""
        grid = self.grids.get(key)
        return grid if grid is not None and grid.spec == spec else None

    def recompute_for(self, spec: GridSpec) -> list[MaterialRecord]:
        """The rows to compute again with ``spec`` (a model with these settings loaded):
        finished rows whose grid in memory was made with other settings (the grid is
        dropped), and rows that failed under other settings for a reason of those
        settings (a structure EQeq cannot charge fails the CO2 probe, not the sphere)."""
        stale = [k for k, g in self.grids.items() if g.spec != spec]
        recs = [r for r in map(self.materials.record, stale) if r is not None and r.status == "ok"]
        for r in recs:
            self.grids.pop(r.digest, None)
        failed = [k for k, s in self._failed_spec.items() if s != spec]
        recs += [
            r for r in map(self.materials.record, failed) if r is not None and r.status == "failed"
        ]
        return recs

    def retry(self, records: Iterable[MaterialRecord], spec: GridSpec) -> list[MaterialRecord]:
        """Of these rows, those Compute Again resubmits with ``spec``: failed or cancelled
        ones, and those whose grid in memory has other settings (the grid is dropped)."""
        recs = [
            r
            for r in records
            if r.status in ("failed", "cancelled")
            or (r.digest in self.grids and self.grids[r.digest].spec != spec)
        ]
        for r in recs:
            self.grids.pop(r.digest, None)
        return recs

    def land(
        self,
        results: Iterable[tuple[str, GridOutcome, GridSpec]],
        spec: GridSpec,
        predictions: Predictions,
    ) -> Landing:
        """Take grid results, ``(digest, outcome, the settings it was computed with)``,
        while ``spec`` is today's grid settings; returns what they change.

        Removed rows are skipped, and so is a cancellation of a row already cancelled.
        Structures and grids are kept; a grid of other settings than the loaded model's
        is not kept but computed again; a kept grid's row is to be predicted, or says
        why not ("no model", the model's load error).
        """
        out = Landing()
        for key, r, used in results:
            rec = self.materials.record(key)
            if rec is None or (r.status == "cancelled" and rec.status == "cancelled"):
                continue
            ch = dict(status=r.status, kind=r.kind, reason=r.reason, seconds=round(r.seconds, 4))
            if (s := r.structure) is not None:
                ch.update(name=s.name, formula=s.formula, n_atoms=s.n_atoms)
                ch["volume"] = round(s.volume, 3)
                self.structures[key] = s
            self.outcome(key, r.status, r.kind, used)
            if r.grid is not None and predictions.info and r.grid.spec != spec:
                out.again.add(key)
            elif r.grid is not None:
                self.keep(key, r.grid)
                ch["crystal"] = r.grid.meta.get("crystal", "")
                if predictions.ref is None:
                    ch["pred_note"] = "no model"
                elif predictions.error:
                    ch["pred_note"] = predictions.error
                else:
                    ch["pred_note"] = ""
                    out.predict.append(key)
            out.changes[key] = ch
        return out

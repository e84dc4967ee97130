"""One exception hierarchy for RetVis.

Every error a user can cause (a bad file, a missing parameter, a limit) is a
:class:`RetvisError`. It carries the offending path (when there is one) and a
``reason`` that reads well on its own in a table cell, a dialog or a log line.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path


class RetvisError(Exception):
    """Base class of every error RetVis reports to a user.

    Parameters
    ----------
    reason : str
        What was expected and what was received, in one sentence.
    path : str or PathLike, optional
        The file the error is about.
    """

    #: Short machine-readable category, shown in failure tables.
    kind: str = "error"

    def __init__(self, reason: str, path: str | PathLike[str] | None = None) -> None:
        self.reason = reason
        self.path = Path(path) if path is not None else None
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.path is not None:
            return f"{self.path.name}: {self.reason}"
        return self.reason

    def __reduce__(self):  # picklable across process pools
        return (type(self), (self.reason, self.path))


class UsageError(RetvisError):
    """A command was given something it cannot work with (a missing input, an output
    path of the wrong kind); found before any work starts. Exit status 2."""

    kind = "usage"


class StructureError(RetvisError):
    """A file could not be turned into a usable crystal structure."""

    kind = "structure"


class ForceFieldError(RetvisError):
    """A structure holds an element the force field has no parameters for."""

    kind = "forcefield"


class LimitError(RetvisError):
    """A request exceeds a limit that protects the machine (atoms, grid size, memory)."""

    kind = "limit"


class SpecError(RetvisError):
    """An invalid setting (grid spec, protocol, hyper-parameter)."""

    kind = "spec"


class DataError(RetvisError):
    """A dataset or labels table is inconsistent (missing names, non-finite values...)."""

    kind = "data"


class WeightsError(RetvisError):
    """A model file is missing, foreign or tampered with."""

    kind = "weights"


class SimulationError(RetvisError):
    """An adsorption simulation failed or timed out."""

    kind = "simulation"


class Cancelled(RetvisError):
    """The user cancelled the work."""

    kind = "cancelled"

    def __init__(self, reason: str = "cancelled by the user", path=None) -> None:
        super().__init__(reason, path)

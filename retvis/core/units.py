"""Physical constants RetVis uses, one definition each (CODATA 2018, exact SI values)."""

#: Avogadro constant, 1/mol.
AVOGADRO = 6.02214076e23

"""RetVis' application model, without Qt: the state and rules of a session that the
window shows (docs/architecture.md). The Qt classes of :mod:`retvis.gui` observe it and
send it commands; its tests need no display."""

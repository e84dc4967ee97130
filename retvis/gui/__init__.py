"""The RetVis desktop app (PySide6 + pyvistaqt): the only package that imports Qt.

It holds no science of its own: every number comes from ``retvis.core``, ``retvis.ml``
and ``retvis.sim``; every scene from ``retvis.render`` (or a minimal stand-in until it
lands). Importing this package opens no window; :func:`retvis.gui.app.main` does.
"""

"""PyVista scene builders shared by the app, off-screen renders and tests (no Qt widgets)."""

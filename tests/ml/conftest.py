"""ml tests use the ``demo_set`` fixture of tests/conftest.py."""

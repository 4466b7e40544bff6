"""Wire-level tests of the component plugin. A package, so that its conftest does not clash
with tests/conftest.py as a top-level module for mypy."""

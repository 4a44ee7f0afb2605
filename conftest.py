"""Fixtures shared by every app's tests: a real Daphne with a real database,
and a headless browser. They live in cs_project/testing/fixtures.py."""

pytest_plugins = ["cs_project.testing.fixtures"]

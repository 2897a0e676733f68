"""The all-in-one scenario's verify run: the test library's stages (estate.py)."""

from estate import pytest_collection_modifyitems, pytest_configure  # noqa: F401  (pytest hooks)

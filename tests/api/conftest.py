"""Each API test that writes gets its own copy of the session's generated-shop run
(``shop_run`` in tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def warehouse_copy(shop_run: Path, tmp_path: Path) -> Path:
    """A private copy of the run's folder (warehouse and metrics.json)."""
    target = tmp_path / "out"
    shutil.copytree(shop_run, target)
    return target

"""A generated shop run end to end once per session: the warehouse the API and the real-time
matcher are tested on (each test that writes gets its own copy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from customerlens.cli import app
from customerlens.synth import generate_shop


@pytest.fixture(scope="session")
def shop_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated shop of 1,200 people: source role -> CSV file (the truth file left out)."""
    files = generate_shop(1_200, tmp_path_factory.mktemp("api_shop"), seed=7).files
    return {role: path for role, path in files.items() if role != "truth"}


@pytest.fixture(scope="session")
def shop_run(shop_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``customerlens run`` over the generated shop: every table exists."""
    files = shop_files
    out = tmp_path_factory.mktemp("api_run") / "out"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--accounts", str(files["accounts"]),
            "--crm", str(files["crm"]),
            "--transactions", str(files["transactions"]),
            "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def warehouse_copy(shop_run: Path, tmp_path: Path) -> Path:
    """A private copy of the run's folder (warehouse and metrics.json)."""
    target = tmp_path / "out"
    shutil.copytree(shop_run, target)
    return target

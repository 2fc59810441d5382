"""Shared fixtures: one seed, small input files in ``tmp_path``, the shared real data sets."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from customerlens.cli import app
from customerlens.synth import generate_shop

#: ../shared/data relative to the repository root (tests/ -> repo root -> its parent)
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

WriteCsv = Callable[..., Path]


def write_csv_file(
    path: Path,
    header: Sequence[str] | None,
    rows: Sequence[Sequence[object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    """Write ``rows`` (with ``header`` first, when given) as a delimited file; return the path.

    Lines end with ``\\n``; values are quoted by :mod:`csv` only where needed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def random_state() -> int:
    """The one seed every randomised test uses (scikit-learn's ``random_state`` convention)."""
    return 20_240_607


@pytest.fixture
def rng(random_state: int) -> np.random.Generator:
    """A NumPy generator seeded with :func:`random_state`."""
    return np.random.default_rng(random_state)


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write a small CSV into ``tmp_path``: ``write_csv("a.csv", header, rows, delimiter=";")``."""

    def write(
        name: str,
        header: Sequence[str] | None,
        rows: Sequence[Sequence[object]],
        *,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> Path:
        return write_csv_file(tmp_path / name, header, rows, delimiter=delimiter, encoding=encoding)

    return write


@pytest.fixture
def shared_data() -> Path:
    """The folder of real public data sets beside the project; skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared data folder {SHARED_DATA} is absent: the real data sets are read in place "
            "from ../shared/data beside the repository (see its README.md)"
        )
    return SHARED_DATA


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

import os

import pytest


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """A fresh runs directory; FREQLENS_RUNS_DIR cleared so tests never touch ./runs."""
    monkeypatch.delenv("FREQLENS_RUNS_DIR", raising=False)
    return tmp_path / "runs"


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "Agg")

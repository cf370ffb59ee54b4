import pytest


@pytest.fixture(autouse=True)
def secret_file(tmp_path, monkeypatch):
    """Every test signs with a key of its own (never the user's)."""
    path = tmp_path / "key" / "secret"
    monkeypatch.setenv("FREQLENS_SECRET_FILE", str(path))
    return path

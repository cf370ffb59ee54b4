"""`freqlens kde` and `freqlens dose`: output equals the API and closed forms; bad input is one line, exit 2."""

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from freqlens.cli import main


def cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _csv(text):
    rows = [line.split(",") for line in text.strip().splitlines()[1:]]
    return np.array(rows, dtype=float)


def test_kde_matches_scipy(tmp_path, capsys):
    rng = np.random.default_rng(1)
    data = np.concatenate([rng.normal(0, 1, 300), rng.normal(5, 0.5, 200)])
    path = tmp_path / "x.csv"
    path.write_text("value\n" + "\n".join(f"{v:.12g}" for v in data) + "\n")
    code, out, _ = cli(capsys, "kde", str(path), "--points", "1024")
    assert code in (0, None)
    table = _csv(out)
    ref = gaussian_kde(data)(table[:, 0])
    assert np.max(np.abs(table[:, 1] - ref)) < 1e-3 * ref.max()
    out_file = tmp_path / "d.csv"
    code, out, _ = cli(capsys, "kde", str(path), "--bandwidth", "0.3", "-o", str(out_file))
    assert "mode at" in out and out_file.read_text().startswith("x,density")


def test_dose_closed_form(capsys):
    # 100 every 12 h, half-life 6 h: just after the 3rd dose 100 (1 + 1/4 + 1/16) = 131.25
    code, out, _ = cli(capsys, "dose", "--doses", "0:100,12:100,24:100", "--half-life", "6", "--dt", "1")
    table = _csv(out)
    amount = dict(zip(table[:, 0], table[:, 1]))
    assert amount[24.0] == pytest.approx(131.25)
    assert amount[30.0] == pytest.approx(131.25 / 2)
    assert amount[6.0] == pytest.approx(50.0)
    assert table[-1, 0] == pytest.approx(24 + 5 * 6)


@pytest.mark.parametrize("args, message", [
    (["dose", "--doses", "0-100", "--half-life", "6"], "--doses expects time:amount"),
    (["dose", "--doses", "0:100", "--half-life", "-1"], "--half-life must be > 0"),
    (["dose", "--doses", "0:100", "--half-life", "6", "--dt", "0"], "--dt must be > 0"),
    (["kde", "missing.csv"], "missing.csv"),
    (["kde", "-", "--bandwidth", "wide"], "--bandwidth must be a number"),
    (["kde", "-", "--points", "1"], "--points must be >= 2"),
])
def test_bad_input(capsys, args, message):
    code, _, err = cli(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err

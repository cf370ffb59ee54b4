import base64
import os
import re
import shutil

import pytest

import freqlens.lab as lab
from freqlens.report.figures import RENDERERS, snapshot_steps


def figure_names(run):
    return [v["name"] for v in run.views if v["kind"] in RENDERERS]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("report") / "runs"
    return lab.run("fp1d", runs_dir=runs_dir, steps=300, eval_every=10, hidden=[32, 32], seeds=2, quiet=True)


def test_report_files_and_embedded_images(small_run):
    html_path = small_run.path / "report.html"
    page = html_path.read_text()
    names = figure_names(small_run)
    assert names == ["loss", "outputs", "spectra", "heatmap", "delta_f", "convergence"]
    for name in names:
        png = (small_run.path / "figures" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        m = re.search(rf'id="fig-{name}"[^>]*src="data:image/png;base64,([^"]+)"', page)
        assert m, name
        assert base64.b64decode(m.group(1)) == png  # the page embeds exactly the written figure
    assert "http://" not in page and "https://" not in page  # self-contained: nothing to fetch
    assert small_run.id in page and "fp1d" in page


def test_snapshot_steps_include_convergence_steps():
    ev = {"steps": list(range(0, 1001, 10))}
    steps = snapshot_steps(ev, {1: 40, 3: 360, 5: None}, n=5)
    assert steps[0] == 0 and steps[-1] == 1000 and 40 in steps and 360 in steps and len(steps) == 5
    # more convergence steps than panels: the earliest and the latest (highest frequency) are kept
    many = snapshot_steps({"steps": list(range(0, 3001, 20))},
                          {1: 60, 4: 760, 7: 900, 10: 1000, 13: 1140, 16: 1300}, n=5)
    assert many[0] == 0 and many[-1] == 3000 and 60 in many and 1300 in many and len(many) == 5


def test_sweep_report(tmp_path):
    run = lab.run("fp1d-freq-sweep", runs_dir=tmp_path / "runs", sweep_values=[1, 2], n_train=32, hidden=[16, 16],
                  steps=100, eval_every=10, lr=1e-3)
    page = (run.path / "report.html").read_text()
    assert "k=2" in page and all(f'id="fig-{n}"' in page for n in figure_names(run))
    sw = run.sweep
    # unconverged components are None (shown as "never"), converged ones plain ints - never NaN or floats
    assert all(v is None or isinstance(v, int) for v in [*sw["low_step"], *sw["high_step"]])
    text = re.sub(r'src="data:[^"]*"', "", page)  # the words of the page, without the embedded images
    assert "nan" not in text.lower() and ("never" in text or all(v is not None for v in sw["high_step"]))


def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium and chromium-driver (.ci/run does)")
        pytest.skip("headless chromium/chromedriver not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


@pytest.mark.browser
def test_report_in_headless_browser(small_run):
    browser = _browser()
    try:
        browser.get((small_run.path / "report.html").resolve().as_uri())
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth, i.naturalHeight]);")
        assert sorted(i[0] for i in images) == sorted(f"fig-{n}" for n in figure_names(small_run))
        for img_id, complete, width, height in images:
            assert complete and width > 300 and height > 150, (img_id, width, height)
        errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        assert small_run.id in browser.title
    finally:
        browser.quit()

import io

import numpy as np
import pytest
import torch

from freqlens.errors import DataError
from freqlens.lab.monitors.base import Monitor
from freqlens.report.figures_highdim import plot_filtering
from freqlens.lab.monitors.filtering import FilteringMonitor
from freqlens.spectrum.gaussian_split import gaussian_split_dense


def reference_errors(x, labels, probs, deltas, rows=None):
    """e_low, e_high from the dense float64 split of labels and outputs (the definition, independently)."""
    y = np.eye(probs.shape[1])[labels]
    yl, yh = gaussian_split_dense(x, y, deltas)
    hl, hh = gaussian_split_dense(x, probs, deltas)
    sel = slice(None) if rows is None else rows
    e_low = [np.linalg.norm(yl[j][sel] - hl[j][sel]) / np.linalg.norm(yl[j][sel]) for j in range(len(deltas))]
    e_high = [np.linalg.norm(yh[j][sel] - hh[j][sel]) / np.linalg.norm(yh[j][sel]) for j in range(len(deltas))]
    return np.array(e_low), np.array(e_high)


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    x = rng.random((240, 3, 2, 2))                       # N x C x H x W: flattened by the monitor
    labels = rng.integers(0, 4, 240)
    logits = [rng.normal(size=(240, 4)) * s for s in (0.5, 1.0, 2.0)]
    return x, labels, logits


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


DELTAS = [0.05, 0.2, 1.0]


def test_exact_mode_equals_dense_float64_reference(small):
    x, labels, logits = small
    mon = FilteringMonitor(x, labels, deltas=DELTAS, mode="exact")
    assert isinstance(mon, Monitor) and mon.previews == ()
    for step, z in enumerate(logits):
        out = mon.record(step, torch.as_tensor(z, dtype=torch.float32))
        ref_low, ref_high = reference_errors(x.reshape(240, -1), labels, softmax(z.astype(np.float32)), DELTAS)
        np.testing.assert_allclose(out["e_low"], ref_low, rtol=1e-4)
        np.testing.assert_allclose(out["e_high"], ref_high, rtol=1e-4)
    hf_ref = [np.linalg.norm(h) / np.linalg.norm(np.eye(4)[labels])
              for h in gaussian_split_dense(x.reshape(240, -1), np.eye(4)[labels], DELTAS)[1]]
    np.testing.assert_allclose(mon.high_fraction, hf_ref, rtol=1e-5)
    assert mon.flush() == []


def test_deferred_previews_and_one_pass_flush(small):
    x, labels, logits = small
    exact = FilteringMonitor(x, labels, deltas=DELTAS, mode="exact")
    mon = FilteringMonitor(x, labels, deltas=DELTAS, mode="deferred", preview_rows=50, seed=3)
    assert set(mon.axes) == {"e_low", "e_high", "e_low_preview", "e_high_preview"}
    assert np.all(np.isnan(mon.high_fraction))          # known after the first exact pass
    for step, z in zip((0, 10, 20), logits):
        prev = mon.record(step, z)
        exact.record(step, z)
        ref_low, ref_high = reference_errors(x.reshape(240, -1), labels, softmax(z), DELTAS, rows=mon.preview_rows)
        np.testing.assert_allclose(prev["e_low_preview"], ref_low, rtol=1e-4)
        np.testing.assert_allclose(prev["e_high_preview"], ref_high, rtol=1e-4)
    assert mon.pending_steps == [0, 10, 20] and np.all(np.isnan(mon.e_low))
    # without the cached distance strip (memory too tight for it) the previews are the same
    lean = FilteringMonitor(x, labels, deltas=DELTAS, mode="deferred", preview_rows=50, seed=3,
                            memory_limit=150_000, block_rows=16, block_cols=32)
    assert mon._preview_dist is not None and lean._preview_dist is None
    np.testing.assert_allclose(lean.record(20, logits[2])["e_low_preview"], prev["e_low_preview"], rtol=1e-5)
    done = mon.flush()
    assert [s for s, _ in done] == [0, 10, 20]
    for i, (_, metrics) in enumerate(done):
        np.testing.assert_allclose(metrics["e_low"], exact.e_low[i], rtol=1e-5)
        np.testing.assert_allclose(metrics["e_high"], exact.e_high[i], rtol=1e-5)
    np.testing.assert_allclose(mon.high_fraction, exact.high_fraction, rtol=1e-6)
    assert mon.pending_steps == [] and mon.flush() == []


@pytest.mark.parametrize("plan", [("stream", 1), ("sym", 2), ("stream", 3), ("sym", 3)])
def test_flush_plans_give_the_same_numbers(small, monkeypatch, plan):
    # symmetric or streamed pass, one or several records per pass: the same exact numbers
    x, labels, logits = small
    mon = FilteringMonitor(x, labels, deltas=DELTAS, mode="deferred")
    for step, z in enumerate(logits):
        mon.record(step, z)
    monkeypatch.setattr(mon, "_plan", lambda records: plan)
    grouped = mon.flush()
    ref = FilteringMonitor(x, labels, deltas=DELTAS, mode="exact")
    for step, z in enumerate(logits):
        out = ref.record(step, z)
        np.testing.assert_allclose(grouped[step][1]["e_low"], out["e_low"], rtol=1e-5)
        np.testing.assert_allclose(grouped[step][1]["e_high"], out["e_high"], rtol=1e-5)


def test_plan_prefers_the_symmetric_pass_and_streams_when_memory_is_short(small):
    x, labels, _ = small
    mon = FilteringMonitor(x, labels, deltas=DELTAS, mode="deferred")
    assert mon._plan(10) == ("sym", 10)
    tight = FilteringMonitor(x, labels, deltas=DELTAS, mode="deferred", memory_limit=40_000, block_rows=16,
                             block_cols=32)
    kind, group = tight._plan(10)
    assert kind == "stream" and 1 <= group < 10


def test_state_survives_a_checkpoint_with_pending_records(small):
    x, labels, logits = small
    a = FilteringMonitor(x, labels, deltas=DELTAS, mode="deferred")
    a.record(0, logits[0])
    a.flush()
    a.record(5, logits[1], loss=0.3)
    buf = io.BytesIO()
    np.savez(buf, **a.state_dict())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        state = dict(f)
    b = FilteringMonitor(x, labels, deltas=DELTAS, mode="deferred")
    b.load_state_dict(state)
    assert b.steps == [0, 5] and b.pending_steps == [5] and b.losses[1] == 0.3
    b.record(9, logits[2])
    a.record(9, logits[2])
    fa, fb = a.flush(), b.flush()
    assert [s for s, _ in fb] == [5, 9]
    for (sa, ma), (sb, mb) in zip(fa, fb):
        assert sa == sb
        np.testing.assert_allclose(ma["e_low"], mb["e_low"], rtol=1e-6)
    np.testing.assert_allclose(a.e_high, b.e_high, rtol=1e-6)
    other = FilteringMonitor(x[::-1].copy(), labels, deltas=DELTAS)
    with pytest.raises(ValueError, match="other inputs"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="deltas"):
        FilteringMonitor(x, labels, deltas=[1.0]).load_state_dict(state)


def test_truncate_drops_pending_and_done(small):
    x, labels, logits = small
    mon = FilteringMonitor(x, labels, deltas=DELTAS, mode="deferred")
    mon.record(0, logits[0])
    mon.record(10, logits[1])
    mon.flush()
    mon.record(20, logits[2])
    mon.record(30, logits[0])
    mon.truncate(20)
    assert mon.steps == [0, 10, 20] and mon.pending_steps == [20]
    mon.truncate(5)
    assert mon.steps == [0] and mon.pending_steps == []
    mon.record(10, logits[1])                            # re-measured after the resume


def test_logits_and_probabilities(small):
    x, labels, logits = small
    a = FilteringMonitor(x, labels, deltas=DELTAS)
    b = FilteringMonitor(x, np.eye(4)[labels], deltas=DELTAS, outputs="probabilities")
    np.testing.assert_allclose(a.record(0, logits[0])["e_low"], b.record(0, softmax(logits[0]))["e_low"],
                               rtol=1e-6)


def test_ill_conditioned_high_part_is_flagged():
    # far-apart clusters in high dimension: at a tiny delta the kernel is the identity and y_high ~ 0
    rng = np.random.default_rng(5)
    x = rng.normal(size=(120, 50))
    labels = rng.integers(0, 3, 120)
    mon = FilteringMonitor(x, labels, deltas=[0.5, 50.0, 500.0], outputs="probabilities")
    assert mon.high_fraction[0] < 1e-6 and mon.high_fraction[2] > 0.5
    np.testing.assert_array_equal(mon.ill_conditioned, [True, False, False])
    for step in range(3):
        mon.record(step, np.eye(3)[labels] * 0.9 + 0.1 / 3)
    summ = mon.summaries()
    assert summ["ill_conditioned"] == {0.5: 1, 50.0: 0, 500.0: 0}
    assert summ["e_high_step"][0.5] is None and summ["e_low_step"][0.5] == 0
    assert summ["high_fraction"][500.0] == pytest.approx(mon.high_fraction[2])


def test_bad_input(small):
    x, labels, logits = small
    with pytest.raises(ValueError, match="deltas"):
        FilteringMonitor(x, labels, deltas=[1.0, 0.0])
    with pytest.raises(ValueError, match="deltas"):
        FilteringMonitor(x, labels, deltas=[-2.0])
    with pytest.raises(ValueError, match="deltas"):
        FilteringMonitor(x, labels, deltas="big")
    with pytest.raises(ValueError, match="mode"):
        FilteringMonitor(x, labels, deltas=DELTAS, mode="fast")
    with pytest.raises(ValueError, match="labels"):
        FilteringMonitor(x, labels[:10], deltas=DELTAS)
    mon = FilteringMonitor(x, labels, deltas=DELTAS)
    bad = logits[0].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        mon.record(0, bad)
    with pytest.raises(ValueError, match=r"\(240, 4\)"):
        mon.record(0, logits[0][:, :3])
    mon.record(5, logits[0])
    with pytest.raises(ValueError, match="not after"):
        mon.record(5, logits[0])
    with pytest.raises(DataError, match=r"59.8 MiB.*1.0 MiB is available"):
        FilteringMonitor(np.zeros((20000, 784), np.float32), np.zeros(20000, int), deltas=[1.0],
                         memory_limit=2**20)


def test_figure_has_one_panel_per_delta_drawing_its_own_column(small):
    steps = [0, 10, 20, 30]
    e_low = np.array([[0.9, 0.8, 0.7], [0.5, 0.4, 0.3], [0.2, 0.1, 0.05], [0.1, 0.05, 0.01]])
    e_high = e_low + 0.3
    fig = plot_filtering(steps, DELTAS, e_low, e_high, ill_conditioned=[True, False, False],
                         high_fraction=[0.01, 0.3, 0.8], threshold=0.1, ncols=2)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    for j, ax in enumerate(axes):
        low_line, high_line = ax.get_lines()[:2]
        np.testing.assert_allclose(low_line.get_ydata(), e_low[:, j])    # not the last delta everywhere
        np.testing.assert_allclose(high_line.get_ydata(), e_high[:, j])
        assert f"{DELTAS[j]:.3g}" in ax.get_title()
    assert axes[0].get_lines()[1].get_linestyle() == "--" and "ill-conditioned" in axes[0].get_lines()[1].get_label()
    assert axes[1].get_lines()[1].get_linestyle() == "-"


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_digits_low_frequencies_are_learned_first(digits, trainer, kind):
    images, labels = digits
    mon = FilteringMonitor(images, labels, deltas=[0.5, 1.0, 2.0, 4.0])
    assert mon.mode == "exact" and not mon.ill_conditioned.any()
    trainer(kind, images, labels, [mon], steps=160 if kind == "mlp" else 100, every=10,
            lr=1e-3 if kind == "mlp" else 3e-3)
    lo, hi = mon.e_low, mon.e_high
    early = mon.steps.index(40 if kind == "mlp" else 20)
    # early in training the low part is already well fitted while the high part is not
    assert np.all(lo[early] < hi[early]), (lo[early], hi[early])
    assert np.all(lo[early] < 0.5 * hi[early])
    summ = mon.summaries()
    for dl in mon.deltas:
        lo_step, hi_step = summ["e_low_step"][dl], summ["e_high_step"][dl]
        assert lo_step is not None, dl
        assert hi_step is None or lo_step < hi_step, (dl, lo_step, hi_step)

"""Linearised dynamics: exact for models linear in their parameters, close for wide networks, and the
factor-of-2 claim on convergence steps per frequency."""

import numpy as np
import pytest
import torch
from torch import nn

from freqlens.lab.monitors.frequency import FrequencyMonitor
from freqlens.lab.theory import (LinearizedDynamics, dominant_frequencies, eigenvector_spectra, linearize,
                                 ntk_mlp, predict_delta_f)
from freqlens.lab.theory import linearized as lin_mod
from freqlens.spectrum.dft import dft, periodic_grid


def random_features(n_out=1, seed=0):
    """A model linear in its trainable parameters: frozen random tanh features and a trainable read-out."""
    g = torch.Generator().manual_seed(seed)
    m = nn.Sequential(nn.Linear(1, 40), nn.Tanh(), nn.Linear(40, n_out)).double()
    with torch.no_grad():
        m[0].weight.copy_(torch.randn(40, 1, generator=g, dtype=torch.float64) * 2)
        m[0].bias.copy_(torch.randn(40, generator=g, dtype=torch.float64))
    m[0].requires_grad_(False)
    return m


def train(model, x, y, lr, steps, momentum=0.0, record=None):
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=momentum)
    out = []
    for s in range(steps + 1):
        f = model(x)
        loss = torch.mean((f - y) ** 2)
        if record is None or s in record:
            out.append((f - y).detach().reshape(-1).numpy().copy())
        if s == steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(out)


@pytest.mark.filterwarnings("ignore:empirical_ntk")
@pytest.mark.parametrize("n_out, momentum", [(1, 0.0), (1, 0.9), (2, 0.0), (3, 0.5)])
def test_exact_for_a_model_linear_in_its_parameters(n_out, momentum):
    """The factor 2/N of mean((f − y)²) over N = n·O values, and the momentum recurrence, are exact."""
    x = torch.linspace(-2, 2, 12, dtype=torch.float64).unsqueeze(1)
    y = torch.cat([torch.sin((o + 1) * x) for o in range(n_out)], dim=1)
    model = random_features(n_out)
    dyn = linearize(model, x, y, lr=0.05, momentum=momentum)
    steps = [0, 1, 2, 7, 40]
    actual = train(model, x, y, lr=0.05, steps=40, momentum=momentum, record=steps)
    np.testing.assert_allclose(dyn.residual(steps), actual, rtol=0, atol=1e-10 * np.abs(actual).max())


def test_wide_network_follows_the_linearised_trajectory():
    """NTK-parametrised two-layer ReLU net, GD at a quarter of the stability limit, 200 steps on sin x (n = 32):
    max_t ‖r_measured(t) − r_predicted(t)‖ / ‖r(0)‖ is below 3% at width 8192 and shrinks with width."""
    x = periodic_grid(32)
    xt = torch.as_tensor(x).unsqueeze(1)
    yt = torch.sin(xt)
    steps = list(range(0, 201, 20))
    errors = {}
    for width in (256, 8192):
        net = ntk_mlp(1, [width], 1, activation="relu", sigma_b=1.0, generator=torch.Generator().manual_seed(0))
        lam_max = linearize(net, xt, yt, lr=1.0).eigenvalues[0]
        lr = 0.25 * 32 / lam_max
        dyn = linearize(net, xt, yt, lr=lr)
        pred = dyn.residual(steps)
        meas = train(net, xt, yt, lr=lr, steps=200, record=steps)
        errors[width] = (np.linalg.norm(meas - pred, axis=1) / np.linalg.norm(pred[0])).max()
    assert errors[8192] < 0.03, errors
    assert errors[8192] < errors[256] / 2, errors


def twin_two_layer(width, seed):
    """Two-layer ReLU net (NTK parametrisation) with twin neurons of opposite read-out: f₀ = 0 (up to rounding)."""
    net = ntk_mlp(1, [width], 1, activation="relu", sigma_b=1.0, generator=torch.Generator().manual_seed(seed))
    h = width // 2
    with torch.no_grad():
        net[0].weight[h:] = net[0].weight[:h]
        net[0].bias[h:] = net[0].bias[:h]
        net[2].weight[:, h:] = -net[2].weight[:, :h]
        net[2].bias.zero_()
    return net


def test_predicted_convergence_steps_within_a_factor_of_two():
    """Wide two-layer ReLU net, small-step full-batch GD on 0.1 sin x + 0.05 sin 2x + 0.025 sin 3x (32 points of
    [−π, π)): the convergence step of each frequency predicted from the NTK on the training set is within a factor
    of 2 of the measured one (lab rule: ΔF < 0.05 for 10 evaluations, every 10 steps). Small amplitudes keep the
    run in the kernel regime at this width (examples/theory_ntk_vs_training.py runs wider nets and larger
    targets)."""
    freqs = [1, 2, 3]
    x = periodic_grid(32)
    y = 0.1 * np.sin(x) + 0.05 * np.sin(2 * x) + 0.025 * np.sin(3 * x)
    xt, yt = torch.as_tensor(x).unsqueeze(1), torch.as_tensor(y).unsqueeze(1)
    net = twin_two_layer(256, seed=1)
    lr = 0.5 * 32 / linearize(net, xt, yt, lr=1.0).eigenvalues[0]
    pred = linearize(net, xt, yt, lr=lr).convergence_steps(freqs, threshold=0.05, hold=10, eval_every=10)
    assert pred[1] < pred[2] < pred[3]  # low frequencies first
    mon = FrequencyMonitor(y, freqs=freqs)
    steps = 2 * max(pred.values()) + 100
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for s in range(steps + 1):
        out = net(xt)
        if s % 10 == 0:
            mon.record(s, out.detach())
        loss = torch.mean((out - yt) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    meas = mon.convergence_steps()
    for k in freqs:
        assert meas[k] is not None and 0.5 <= meas[k] / pred[k] <= 2.0, (pred, meas)


def test_delta_f_matches_the_monitor_and_a_direct_computation():
    x = periodic_grid(48)
    y = np.sin(x) + 0.5 * np.sin(4 * x)
    net = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 1)).double()
    xt = torch.as_tensor(x).unsqueeze(1)
    dyn = linearize(net, xt, y[:, None], lr=0.01)
    mon = FrequencyMonitor(y, freqs=[1, 4])
    with torch.no_grad():
        initial = mon.record(0, net(xt))["delta_f"]
    steps = [0, 3, 100, 5000]
    df = dyn.delta_f([1, 4], steps)
    np.testing.assert_allclose(df[0], initial, rtol=1e-12)
    direct = np.abs(dft(dyn.residual(steps), axis=1)[:, [1, 4]]) / np.abs(dft(y)[[1, 4]])
    np.testing.assert_allclose(df, direct, rtol=1e-10)
    np.testing.assert_allclose(predict_delta_f(net, xt, y[:, None], lr=0.01, steps=steps, freqs=[1, 4]), df)


def test_convergence_steps_geometric_search_agrees_with_the_exact_schedule(monkeypatch):
    rng = np.random.default_rng(0)
    n = 16
    x = periodic_grid(n)
    # a translation-invariant kernel whose eigenvalue falls like k^-2 (eigenvectors: pure tones)
    lam = 1.0 / (1.0 + np.minimum(np.arange(n), n - np.arange(n)) ** 2)
    k = np.real(np.fft.ifft(np.fft.fft(np.eye(n), axis=0) * lam[:, None], axis=0))
    y = np.sin(x) + np.sin(3 * x) + np.sin(5 * x)
    dyn = LinearizedDynamics(k, 0.01 * rng.normal(size=n) - y, lr=0.5, targets=y)
    exact = dyn.convergence_steps([1, 3, 5], eval_every=10, hold=1)
    assert exact[1] < exact[3] < exact[5]
    monkeypatch.setattr(lin_mod, "_EXACT_EVALS", 10)  # force the geometric search
    approx = dyn.convergence_steps([1, 3, 5], eval_every=10, hold=1)
    assert approx == exact
    # continuous-time check: mode k decays as (1 − 2ηλ_k/N)^t from ΔF = 1 → 0.05
    for kk in (1, 3, 5):
        t = np.log(0.05) / np.log(1 - 2 * 0.5 * lam[kk] / n)
        assert exact[kk] == pytest.approx(t, abs=20)


def test_eigenvector_spectra_of_pure_tones():
    x = periodic_grid(20)
    vecs = np.stack([np.ones(20), np.cos(3 * x + 0.4), np.sin(7 * x)], axis=1)
    s = eigenvector_spectra(vecs)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    bins, purity = dominant_frequencies(s)
    assert bins.tolist() == [0, 3, 7]
    np.testing.assert_allclose(purity, 1.0)


def test_instability_and_bad_arguments():
    k = np.diag([4.0, 1.0])
    assert not LinearizedDynamics(k, [1.0, 1.0], lr=1.5).stable  # 2·1.5·4/2 = 6 > 2
    assert LinearizedDynamics(k, [1.0, 1.0], lr=1.5, momentum=0.9).stable is False
    assert LinearizedDynamics(k, [1.0, 1.0], lr=0.4).stable
    with pytest.raises(ValueError, match="square"):
        LinearizedDynamics(np.ones((2, 3)), [1.0, 1.0], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        LinearizedDynamics(k, [1.0, 1.0], lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        LinearizedDynamics(k, [1.0, 1.0], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="targets"):
        LinearizedDynamics(k, [1.0, 1.0], lr=0.1).delta_f([1], [0])
    with pytest.raises(ValueError, match="outside"):
        LinearizedDynamics(k, [1.0, 1.0], lr=0.1, targets=[0.0, 1.0]).delta_f([2], [0])
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match="shape of model"):
        linearize(net, torch.zeros(5, 1), np.zeros(4), lr=0.1)

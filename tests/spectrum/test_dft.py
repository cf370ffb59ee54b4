import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from freqlens.spectrum import dft, frequencies, nudft, periodic_grid, spectrum_peaks


@pytest.mark.parametrize("n", [8, 101, 256])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_pure_tone_occupies_one_bin(n, k):
    x = periodic_grid(n)
    mag = np.abs(dft(np.sin(k * x)))
    assert mag[k] == pytest.approx(0.5, abs=1e-12)  # forward norm: amplitude / 2
    mag[[k, n - k]] = 0
    assert mag.max() < 1e-12


def test_constant_in_bin_zero_and_norms_match_scipy():
    y = np.full(16, 3.0)
    assert dft(y)[0] == pytest.approx(3.0)
    rng = np.random.default_rng(0)
    z = rng.normal(size=32)
    np.testing.assert_allclose(dft(z, norm="backward"), np.fft.fft(z))
    np.testing.assert_allclose(dft(z, norm="ortho"), np.fft.fft(z) / np.sqrt(32))


def test_torch_input_and_frequencies():
    t = torch.sin(torch.as_tensor(periodic_grid(16)) * 2)
    assert abs(dft(t)[2]) == pytest.approx(0.5, abs=1e-6)
    assert frequencies(4, d=0.5).tolist() == [0.0, 0.5, -1.0, -0.5]


@settings(max_examples=30, deadline=None)
@given(st.integers(4, 40), st.integers(0, 2**32 - 1))
def test_nudft_on_uniform_grid_equals_dft(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    x = np.arange(n) / n  # positions in periods
    ks = np.arange(n)
    np.testing.assert_allclose(nudft(x, y, ks), dft(y), atol=1e-10)


def test_spectrum_peaks():
    x = periodic_grid(101)
    assert spectrum_peaks(np.sin(x) + np.sin(3 * x) + np.sin(5 * x)) == [1, 3, 5]
    assert spectrum_peaks(np.sin(x) + 0.2 * np.sin(4 * x) + 0.5 * np.sin(9 * x), max_peaks=2) == [1, 9]


@pytest.mark.parametrize("bad", [dict(norm="unit"), dict(y=[])])
def test_bad_input(bad):
    args = {"y": [1.0, 2.0], **bad}
    with pytest.raises(ValueError, match="norm|empty"):
        dft(args.pop("y"), **args)

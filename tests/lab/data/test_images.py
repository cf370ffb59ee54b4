"""Images for the fitting lab: loading and resizing, coordinate grids, the even/odd and full splits, bad input."""

import doctest
import importlib
import struct
import zlib

import numpy as np
import pytest
import skimage.color
import skimage.transform
from hypothesis import given, settings
from hypothesis import strategies as st

from freqlens.errors import ConfigError, DataError
from freqlens.io import sample_image, write_image
from freqlens.lab.data.images import (
    coordinate_grid,
    even_odd_split,
    fit_memory_per_pixel,
    full_split,
    load_image,
)


# -- coordinate grids ----------------------------------------------------------------------------------------
def test_square_grid_is_tanciks_linspace():
    n = 8
    g = coordinate_grid(n, n)
    ref = np.linspace(0, 1, n + 1)[:-1]
    assert g.shape == (n, n, 2)
    np.testing.assert_array_equal(g[:, 0, 0], ref)      # rows
    np.testing.assert_array_equal(g[0, :, 1], ref)      # columns
    np.testing.assert_array_equal(g[3, 5], [3 / 8, 5 / 8])


def test_rectangular_grid_keeps_pixels_square():
    g = coordinate_grid(2, 4, dtype=np.float32)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g[..., 0], [[0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    np.testing.assert_array_equal(g[..., 1], [[0, 0.25, 0.5, 0.75]] * 2)
    np.testing.assert_allclose(np.diff(g[:, 0, 0]), np.diff(g[0, :2, 1]))   # same step along both axes


@pytest.mark.parametrize("h,w", [(0, 3), (3, -1), (2.5, 2), (True, 2)])
def test_grid_rejects_bad_sizes(h, w):
    with pytest.raises(ConfigError, match="positive integer"):
        coordinate_grid(h, w)


# -- splits --------------------------------------------------------------------------------------------------
def test_even_odd_split_hand_checked_4x4():
    img = np.arange(16.0).reshape(4, 4) / 15
    s = even_odd_split(img)
    np.testing.assert_array_equal(s.y_train.ravel(), np.array([0, 2, 8, 10]) / 15)     # (even, even)
    np.testing.assert_array_equal(s.y_test.ravel(), np.array([5, 7, 13, 15]) / 15)     # (odd, odd)
    np.testing.assert_array_equal(s.x_train, [[0, 0], [0, 0.5], [0.5, 0], [0.5, 0.5]])
    np.testing.assert_array_equal(s.x_test, [[0.25, 0.25], [0.25, 0.75], [0.75, 0.25], [0.75, 0.75]])
    # the training coordinates are the grid of the half-resolution image
    np.testing.assert_array_equal(s.x_train, coordinate_grid(2, 2).reshape(-1, 2))
    assert s.train_shape == (2, 2) and s.test_shape == (2, 2) and s.mode == "even-odd" and s.test == "odd"
    np.testing.assert_array_equal(s.y_train.reshape(s.train_shape), img[::2, ::2])
    np.testing.assert_array_equal(s.y_test.reshape(s.test_shape), img[1::2, 1::2])


def test_even_odd_split_odd_sizes_and_colour():
    img = np.random.default_rng(0).random((5, 7, 3))
    s = even_odd_split(img)
    assert s.channels == 3 and s.train_shape == (3, 4) and s.test_shape == (2, 3)
    np.testing.assert_array_equal(s.y_train.reshape(3, 4, 3), img[::2, ::2])
    np.testing.assert_array_equal(s.y_test.reshape(2, 3, 3), img[1::2, 1::2])
    assert s.x_all.shape == (35, 2)


@given(st.integers(2, 9), st.integers(2, 9), st.sampled_from(["odd", "rest", "all"]))
@settings(max_examples=40, deadline=None)
def test_split_masks(h, w, test):
    s = even_odd_split(np.zeros((h, w)), test=test)
    n_train = ((h + 1) // 2) * ((w + 1) // 2)
    assert s.train_mask.sum() == n_train and len(s.x_train) == n_train
    i, j = np.nonzero(s.test_mask)
    if test == "odd":
        assert np.all(i % 2 == 1) and np.all(j % 2 == 1) and s.test_mask.sum() == (h // 2) * (w // 2)
    elif test == "rest":
        np.testing.assert_array_equal(s.test_mask, ~s.train_mask)
        with pytest.raises(ValueError, match="regular grid"):
            s.test_shape
    else:
        assert s.test_mask.all()
    if test != "all":
        assert not np.any(s.train_mask & s.test_mask)


def test_full_split_trains_and_tests_on_every_pixel():
    img = np.random.default_rng(1).random((3, 5))
    s = full_split(img)
    assert s.mode == "full" and s.train_mask.all() and s.test_mask.all()
    np.testing.assert_array_equal(s.y_train.ravel(), img.ravel())
    np.testing.assert_array_equal(s.x_train, coordinate_grid(3, 5).reshape(-1, 2))
    assert set(s.masks) == {"train", "test"}


def test_split_bad_input():
    with pytest.raises(ConfigError, match="test must be one of odd, rest, all"):
        even_odd_split(np.zeros((4, 4)), test="even")
    with pytest.raises(DataError, match="2×2"):
        even_odd_split(np.zeros((1, 4)))
    with pytest.raises(DataError, match="NaN"):
        full_split(np.full((2, 2), np.nan))
    with pytest.raises(DataError, match="shape"):
        full_split(np.zeros(4))


# -- loading -------------------------------------------------------------------------------------------------
def test_sample_image_as_is_and_resized():
    cam = load_image("camera")
    np.testing.assert_array_equal(cam, sample_image("camera"))
    small = load_image("camera", size=64)
    ref = skimage.transform.resize(cam, (64, 64), order=1, mode="reflect", anti_aliasing=True)
    np.testing.assert_allclose(small, ref, atol=1e-12)
    assert small.min() >= 0 and small.max() <= 1


def test_int_size_crops_the_centred_square_and_pair_resizes_the_whole():
    coffee = sample_image("coffee")                                  # 400 × 600 × 3
    sq = load_image("coffee", size=50)
    ref = skimage.transform.resize(coffee[:, 100:500], (50, 50, 3), order=1, mode="reflect", anti_aliasing=True)
    np.testing.assert_allclose(sq, ref, atol=1e-12)
    whole = load_image("coffee", size=(40, 60))
    np.testing.assert_allclose(whole, skimage.transform.resize(coffee, (40, 60, 3), order=1, mode="reflect",
                                                                 anti_aliasing=True), atol=1e-12)


def test_gray_conversion():
    g = load_image("astronaut", size=32, gray=True)
    ref = skimage.transform.resize(skimage.color.rgb2gray(sample_image("astronaut")), (32, 32), order=1,
                                   mode="reflect", anti_aliasing=True)
    assert g.shape == (32, 32)
    np.testing.assert_allclose(g, ref, atol=1e-12)


def test_user_file_round_trip(tmp_path):
    img = np.random.default_rng(2).random((12, 10))
    path = write_image(tmp_path / "pic.png", img)
    back = load_image(path)
    assert back.shape == (12, 10)
    np.testing.assert_allclose(back, img, atol=0.5 / 255 + 1e-12)        # 8-bit quantisation
    assert load_image(str(path), size=(6, 5)).shape == (6, 5)


def _png_declaring(path, width, height):
    """A valid 1×1 PNG whose header is patched to declare ``width × height`` (the pixels are not there)."""
    raw = bytearray(b"\x89PNG\r\n\x1a\n")
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw += struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    data = b"IDAT" + zlib.compress(b"\x00\x00")
    raw += struct.pack(">I", len(data) - 4) + data + struct.pack(">I", zlib.crc32(data))
    raw += struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    path.write_bytes(bytes(raw))
    return path


def test_refuses_large_images_up_front_naming_the_size(tmp_path):
    big = _png_declaring(tmp_path / "big.png", 12000, 12000)
    with pytest.raises(DataError, match=r"12000×12000 pixels.*144,000,000 pixels, more than max_pixels=1,000,000"):
        load_image(big, max_pixels=1_000_000)
    bomb = _png_declaring(tmp_path / "bomb.png", 60000, 60000)
    with pytest.raises(DataError, match="3600000000 pixels"):
        load_image(bomb)
    with pytest.raises(DataError, match=r"1000000×1000000 pixels needs about .* GiB"):
        load_image("camera", size=1_000_000)
    with pytest.raises(DataError, match="more than max_pixels=100"):
        load_image("camera", size=16, max_pixels=100)


def test_bad_sources_and_sizes(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    cases = [
        (lambda: load_image(tmp_path / "missing.png"), DataError, "neither a file nor a bundled image"),
        (lambda: load_image("lenna"), DataError, "bundled image"),
        (lambda: load_image(text), DataError, "not a readable image"),
        (lambda: load_image("camera", size=0), ConfigError, "size"),
        (lambda: load_image("camera", size=(2, 3, 4)), ConfigError, "size"),
        (lambda: load_image("camera", size=12.5), ConfigError, "size"),
        (lambda: load_image("camera", max_pixels=0), ConfigError, "max_pixels"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match=match) as info:
            call()
        assert "\n" not in str(info.value)


def test_fit_memory_per_pixel_formula():
    # float32, 2 inputs, widths 4 × 256, 1 output: 4 · (2·2 + 3·1024 + 3·1)
    assert fit_memory_per_pixel([256] * 4, 2, 1) == 4 * (4 + 3072 + 3)
    assert fit_memory_per_pixel([8], 2, 1, itemsize=8) == 8 * (4 + 24 + 3)


@pytest.mark.parametrize("module", ['freqlens.lab.data.images'])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

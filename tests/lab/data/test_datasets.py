"""load_dataset / load_splits on files written by the tests (MNIST IDX, CIFAR-10 batches) and on digits."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from freqlens import _memory
from freqlens.errors import ConfigError, DataError
from freqlens.lab.data import datasets as ds_module
from freqlens.lab.data.datasets import channel_stats, load_dataset, load_splits, subset_indices
from freqlens.lab.data.sources import DATASETS, digits_split


@pytest.fixture
def mnist_dir(tmp_path, fmt, no_data_env):
    arrays = fmt.write_mnist(tmp_path / "m", n_train=40, n_test=20, gz=True)
    return tmp_path / "m", arrays


def _one_line(err):
    assert "\n" not in str(err.value)


# --- MNIST-format files -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_files_round_trip_unit_and_none(tmp_path, fmt, no_data_env, gz):
    arrays = fmt.write_mnist(tmp_path, gz=gz)
    for split in ("train", "test"):
        images, labels = arrays[split]
        unit = load_dataset("mnist", split=split, data_dir=tmp_path, normalize="unit", dtype=torch.float64)
        assert unit.x.shape == (len(labels), 1, 28, 28) and unit.x.dtype == torch.float64
        np.testing.assert_array_equal(unit.x[:, 0].numpy(), images / 255.0)
        np.testing.assert_array_equal(unit.y.numpy(), labels)
        assert unit.y.dtype == torch.int64 and unit.levels == 255 and unit.mean == (0.0,) and unit.std == (1.0,)
        raw = load_dataset("mnist", split=split, data_dir=tmp_path, normalize="none", flatten=True)
        np.testing.assert_array_equal(raw.x.numpy(), images.reshape(len(labels), -1).astype(np.float32))
        suffix = ".gz" if gz else ""
        prefix = "train" if split == "train" else "t10k"
        assert raw.source == (str(tmp_path / f"{prefix}-images-idx3-ubyte{suffix}"),
                              str(tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}"))


def test_standard_normalisation_uses_full_training_split(mnist_dir):
    folder, arrays = mnist_dir
    train_images = arrays["train"][0].astype(np.float64) / 255
    mean, std = train_images.mean(), train_images.std()
    full = load_dataset("mnist", data_dir=folder, dtype=torch.float64)
    assert full.mean == pytest.approx((mean,), rel=1e-12) and full.std == pytest.approx((std,), rel=1e-12)
    np.testing.assert_allclose(full.x.numpy(), (train_images[:, None] - mean) / std, rtol=1e-12, atol=1e-12)
    assert abs(float(full.x.mean())) < 1e-12 and float(full.x.std(unbiased=False)) == pytest.approx(1, rel=1e-12)
    # a subset keeps the full split's statistics; the test split uses them too
    sub = load_dataset("mnist", data_dir=folder, subset=10, seed=3)
    test = load_dataset("mnist", split="test", data_dir=folder, dtype=torch.float64)
    assert sub.mean == full.mean and test.mean == full.mean and test.std == full.std
    np.testing.assert_allclose(test.x.numpy(), (arrays["test"][0][:, None] / 255 - mean) / std, rtol=1e-12,
                               atol=1e-12)


def test_test_split_with_explicit_stats_needs_no_training_files(mnist_dir):
    folder, arrays = mnist_dir
    for f in folder.glob("train-*"):
        f.unlink()
    with pytest.raises(DataError, match=r"no train files .*train-images-idx3-ubyte\[\.gz\], "
                                        r"train-labels-idx1-ubyte\[\.gz\]"):
        load_dataset("mnist", split="test", data_dir=folder)
    test = load_dataset("mnist", split="test", data_dir=folder, stats=([0.5], [0.25]), dtype=torch.float64)
    np.testing.assert_allclose(test.x.numpy(), (arrays["test"][0][:, None] / 255 - 0.5) / 0.25, rtol=1e-12)


def test_load_splits_equals_two_loads(mnist_dir):
    folder, _ = mnist_dir
    train, test = load_splits("mnist", data_dir=folder, subset=15, test_subset=7, seed=4, flatten=True)
    a = load_dataset("mnist", data_dir=folder, subset=15, seed=4, flatten=True)
    b = load_dataset("mnist", split="test", data_dir=folder, subset=7, seed=4, flatten=True)
    for got, ref in ((train, a), (test, b)):
        assert torch.equal(got.x, ref.x) and torch.equal(got.y, ref.y) and got.mean == ref.mean
        np.testing.assert_array_equal(got.indices, ref.indices)
    assert train.x.shape == (15, 784) and test.info()["n"] == 7 and test.info()["flatten"] is True


def test_subset_deterministic_by_seed_and_matches_indices(mnist_dir):
    folder, arrays = mnist_dir
    a = load_dataset("mnist", data_dir=folder, subset=12, seed=5, normalize="none")
    b = load_dataset("mnist", data_dir=folder, subset=12, seed=5, normalize="none")
    c = load_dataset("mnist", data_dir=folder, subset=12, seed=6, normalize="none")
    assert torch.equal(a.x, b.x) and not np.array_equal(a.indices, c.indices)
    np.testing.assert_array_equal(a.x[:, 0].numpy(), arrays["train"][0][a.indices])
    np.testing.assert_array_equal(a.y.numpy(), arrays["train"][1][a.indices])
    np.testing.assert_array_equal(a.indices, subset_indices(arrays["train"][1], 12, seed=5))


def test_global_generators_untouched(mnist_dir):
    folder, _ = mnist_dir
    np_state, torch_state = np.random.get_state()[1].copy(), torch.random.get_rng_state()
    load_splits("mnist", data_dir=folder, subset=9, test_subset=5, seed=1, stratify=False)
    load_dataset("digits", subset=50, seed=2)
    assert np.array_equal(np.random.get_state()[1], np_state) and torch.equal(torch.random.get_rng_state(), torch_state)


def test_data_dir_from_environment_and_subfolders(tmp_path, fmt, monkeypatch):
    fmt.write_mnist(tmp_path / "mnist", gz=False, seed=1)
    fmt.write_mnist(tmp_path / "fashion", gz=True, seed=2)
    monkeypatch.setenv("FREQLENS_DATA_DIR", str(tmp_path))
    m = load_dataset("mnist", normalize="none")
    f = load_dataset("fashion-mnist", normalize="none")
    assert m.source[0] == str(tmp_path / "mnist" / "train-images-idx3-ubyte")
    assert f.source[0] == str(tmp_path / "fashion" / "train-images-idx3-ubyte.gz") and f.classes[9] == "Ankle boot"
    assert not torch.equal(m.x, f.x)
    # an explicit data_dir wins over the environment
    other = tmp_path / "other"
    fmt.write_mnist(other, seed=3)
    assert load_dataset("mnist", data_dir=other).source[0].startswith(str(other))


def test_no_data_dir(no_data_env):
    with pytest.raises(DataError, match=r"set data_dir \(--data-dir on the command line\) or the FREQLENS_DATA_DIR "
                                        r"environment variable") as err:
        load_dataset("cifar10")
    assert "data_batch_1" in str(err.value) and "never downloads" in str(err.value)
    _one_line(err)


def test_data_dir_not_a_folder(tmp_path, no_data_env):
    with pytest.raises(DataError, match="is not a folder"):
        load_dataset("mnist", data_dir=tmp_path / "missing")


def test_folder_without_the_dataset_lists_expected_files(tmp_path, no_data_env):
    with pytest.raises(DataError) as err:
        load_dataset("mnist", split="test", data_dir=tmp_path, normalize="unit")
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]" in msg
    assert str(tmp_path / "mnist") in msg and str(tmp_path / "MNIST" / "raw") in msg
    _one_line(err)


def test_incomplete_split_names_the_missing_file(mnist_dir):
    folder, _ = mnist_dir
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"incomplete train split in .*: missing train-labels-idx1-ubyte\[\.gz\]"):
        load_dataset("mnist", data_dir=folder)


def test_mismatched_image_and_label_counts(tmp_path, fmt, no_data_env):
    fmt.write_mnist(tmp_path)
    fmt.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(39, np.uint8), gz=True)
    with pytest.raises(DataError, match=r"40 images in train-images-idx3-ubyte.gz but 39 labels in "
                                        r"train-labels-idx1-ubyte.gz") as err:
        load_dataset("mnist", data_dir=tmp_path)
    _one_line(err)


@pytest.mark.parametrize("what", ["size", "labels", "magic"])
def test_wrong_content(tmp_path, fmt, no_data_env, what):
    fmt.write_mnist(tmp_path)
    if what == "size":
        fmt.write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((40, 32, 32), np.uint8), gz=True)
        match = "images of 32x32 pixels; mnist images are 28x28"
    elif what == "labels":
        fmt.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(40, 10, np.uint8), gz=True)
        match = r"labels outside 0\.\.9"
    else:
        fmt.write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros(40, np.uint8), gz=True)
        match = "wrong magic number 0x00000801"
    with pytest.raises(DataError, match=match):
        load_dataset("mnist", data_dir=tmp_path)


def test_memory_refused_before_reading(mnist_dir, monkeypatch):
    folder, _ = mnist_dir

    def must_not_read(plan):
        raise AssertionError("read before the memory check")

    monkeypatch.setattr(ds_module, "read_split", must_not_read)
    monkeypatch.setattr(_memory, "available_memory", lambda: 50_000)
    with pytest.raises(DataError, match=r"loading mnist \(train, 1x28x28 images as float32\) would need "
                                        r"[0-9.]+ KiB of memory but only 48\.8 KiB is available") as err:
        load_dataset("mnist", data_dir=folder)
    _one_line(err)


def test_subset_larger_than_split(mnist_dir):
    folder, _ = mnist_dir
    with pytest.raises(DataError, match="subset=41 is more than the 40 images of the mnist train split"):
        load_dataset("mnist", data_dir=folder, subset=41)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"name": "svhn"}, ConfigError, "dataset must be one of digits, mnist, fashion-mnist, cifar10"),
    ({"split": "valid"}, ConfigError, "split must be one of train, test"),
    ({"normalize": "minmax"}, ConfigError, "normalize must be one of standard, unit, none"),
    ({"subset": 0}, ConfigError, "subset must be a positive integer"),
    ({"subset": 2.5}, ConfigError, "subset must be a positive integer"),
    ({"seed": -1}, ConfigError, "seed must be a non-negative integer"),
    ({"dtype": torch.int64}, TypeError, "dtype must be a real floating torch dtype"),
    ({"stats": ([0.5], [0.0])}, ConfigError, "stds finite and > 0"),
    ({"stats": ([0.5, 0.5], [1, 1])}, ConfigError, "stats must hold 1 mean"),
    ({"stats": ([0.5], [1.0]), "normalize": "unit"}, ConfigError, "normalize='standard' only"),
])
def test_bad_arguments(kwargs, error, match):
    kwargs = {"name": "digits", **kwargs}
    with pytest.raises(error, match=match) as err:
        load_dataset(kwargs.pop("name"), **kwargs)
    _one_line(err)


# --- CIFAR-10 batches ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("parent", [True, False])
def test_cifar10_from_batches(tmp_path, fmt, no_data_env, parent):
    folder = tmp_path / "cifar-10-batches-py"
    arrays = fmt.write_cifar(folder, n_per_batch=4)
    train = load_dataset("cifar10", data_dir=tmp_path if parent else folder, normalize="unit", dtype=torch.float64)
    data, labels = arrays["train"]
    assert train.x.shape == (20, 3, 32, 32) and train.shape == (3, 32, 32) and len(train.source) == 5
    np.testing.assert_array_equal(train.x.numpy(), data.reshape(20, 3, 32, 32) / 255.0)
    np.testing.assert_array_equal(train.y.numpy(), labels)
    test = load_dataset("cifar10", split="test", data_dir=folder, dtype=torch.float64)
    mean = data.reshape(20, 3, 1024).transpose(1, 0, 2).reshape(3, -1).mean(axis=1) / 255
    std = data.reshape(20, 3, 1024).transpose(1, 0, 2).reshape(3, -1).std(axis=1) / 255
    np.testing.assert_allclose(test.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(test.std, std, rtol=1e-12)
    ref = (arrays["test"][0].reshape(4, 3, 32, 32) / 255 - mean[:, None, None]) / std[:, None, None]
    np.testing.assert_allclose(test.x.numpy(), ref, rtol=1e-12, atol=1e-12)


def test_cifar10_missing_batch(tmp_path, fmt, no_data_env):
    fmt.write_cifar(tmp_path, n_per_batch=2)
    (tmp_path / "data_batch_4").unlink()
    with pytest.raises(DataError, match="incomplete train split .*: missing data_batch_4 "):
        load_dataset("cifar10", data_dir=tmp_path)


# --- digits -------------------------------------------------------------------------------------------------------
def test_digits_offline_with_the_documented_split():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train, test = load_splits("digits", normalize="none")
    assert (len(train), len(test)) == DATASETS["digits"].sizes == (1442, 355)
    # the rule, recomputed independently: within each class, ranks 4, 9, 14, ... (file order) are test images
    expected_test = np.sort(np.concatenate([np.flatnonzero(bunch.target == c)[4::5] for c in range(10)]))
    np.testing.assert_array_equal(digits_split(bunch.target)[1], expected_test)
    np.testing.assert_array_equal(test.x[:, 0].numpy(), bunch.images[expected_test].astype(np.float32))
    np.testing.assert_array_equal(test.y.numpy(), bunch.target[expected_test])
    assert np.bincount(test.y.numpy()).tolist() == (np.bincount(bunch.target) // 5).tolist()
    train_idx = np.setdiff1d(np.arange(len(bunch.target)), expected_test)
    np.testing.assert_array_equal(train.x[:, 0].numpy(), bunch.images[train_idx])
    unit = load_dataset("digits", normalize="unit", dtype=torch.float64)
    np.testing.assert_array_equal(unit.x[:, 0].numpy(), bunch.images[train_idx] / 16)
    std = load_dataset("digits", dtype=torch.float64)
    assert std.mean[0] == pytest.approx(bunch.images[train_idx].mean() / 16, rel=1e-12)
    assert std.levels == 16 and std.source[0].startswith("scikit-learn")


def test_one_hot_and_info():
    d = load_dataset("digits", subset=20, seed=0, dtype=torch.float64)
    oh = d.one_hot()
    assert oh.dtype == torch.float64 and torch.equal(oh.argmax(1), d.y)
    assert torch.equal(oh.sum(1), torch.ones(20, dtype=oh.dtype))
    info = d.info()
    assert info["subset"] == 20 and info["n"] == 20 and info["levels"] == 16 and d.in_dim == 64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_device():  # pragma: no cover - CPU machine
    cpu = load_dataset("digits", subset=30)
    gpu = load_dataset("digits", subset=30, device="cuda")
    assert gpu.x.device.type == "cuda" and torch.equal(gpu.x.cpu(), cpu.x) and gpu.y.device.type == "cuda"


# --- subsets and statistics ---------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(1, 40), min_size=1, max_size=8), frac=st.floats(0.01, 1.0),
       seed=st.integers(0, 2**32 - 1), data=st.data())
def test_subset_indices_stratified_properties(counts, frac, seed, data):
    labels = np.repeat(np.arange(len(counts)), counts)
    labels = labels[np.random.default_rng(0).permutation(len(labels))]
    n = len(labels)
    k = max(1, int(round(frac * n)))
    idx = subset_indices(labels, k, seed=seed)
    assert len(idx) == k and len(np.unique(idx)) == k and np.all(np.diff(idx) > 0) and 0 <= idx[0] and idx[-1] < n
    got = np.bincount(labels[idx], minlength=len(counts))
    exact = k * np.array(counts) / n
    assert np.all(np.abs(got - exact) < 1)  # every class within one of its exact share
    np.testing.assert_array_equal(idx, subset_indices(labels, k, seed=seed))


def test_subset_indices_unstratified_is_rng_choice():
    labels = np.arange(100) % 3
    np.testing.assert_array_equal(subset_indices(labels, 17, seed=9, stratify=False),
                                  np.sort(np.random.default_rng(9).choice(100, 17, replace=False)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(1, 30), c=st.integers(1, 3), hw=st.integers(1, 5),
       levels=st.sampled_from([255.0, 16.0]))
def test_channel_stats_against_numpy(seed, n, c, hw, levels):
    images = np.random.default_rng(seed).integers(0, 256, size=(n, c, hw, hw), dtype=np.uint8)
    mean, std = channel_stats(images, levels)
    np.testing.assert_allclose(mean, images.mean(axis=(0, 2, 3)) / levels, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(std, images.std(axis=(0, 2, 3)) / levels, rtol=1e-9, atol=1e-15)

"""Image classification datasets for the lab: one call returns tensors ready to train on.

``load_dataset(name, split=...)`` returns a :class:`Dataset` (images ``x`` as one float tensor, labels ``y`` as
``int64``), ``load_splits(name)`` the training and test splits with the same normalisation. Names: ``digits``
(scikit-learn's 8×8 digits, offline, the default of the classification experiments), ``mnist``,
``fashion-mnist`` (IDX files, gzipped or not) and ``cifar10`` (the python batches, read by a restricted
unpickler); the last three from a folder the user names — freqlens never downloads.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from freqlens.errors import ConfigError, DataError
from freqlens.lab.data._common import check_memory
from freqlens.lab.data.sources import DatasetSpec, RawSplit, dataset_spec, plan_split, read_split

__all__ = ["NORMALIZATIONS", "SPLITS", "Dataset", "channel_stats", "load_dataset", "load_splits", "subset_indices"]

NORMALIZATIONS = ("standard", "unit", "none")
SPLITS = ("train", "test")


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of a dataset, as tensors on the requested device.

    Attributes
    ----------
    name, split : str
        e.g. ``"mnist"``, ``"train"``.
    x : Tensor
        ``(n, C, H, W)`` images, or ``(n, C·H·W)`` when flattened (channel-major: all of channel 0, then channel 1,
        …; each channel row by row), in the requested floating dtype.
    y : Tensor
        ``(n,)`` int64 class indices.
    classes : tuple of str
        Class names; ``y`` indexes them.
    shape : tuple of int
        One image's ``(C, H, W)`` (also when ``x`` is flattened).
    normalize : str
        ``"standard"``, ``"unit"`` or ``"none"``.
    levels, mean, std
        The map applied: ``x = (p / levels − mean[c]) / std[c]`` for a raw pixel ``p`` of channel ``c`` (see
        :func:`load_dataset`). ``mean`` and ``std`` are per channel, in units of ``p / levels``.
    indices : numpy.ndarray
        Positions, in the split, of the images kept (increasing; ``arange(n)`` without a subset).
    subset, seed, stratify
        How the subset was drawn (``subset=None``: the whole split).
    source : tuple of str
        The files read (or the scikit-learn call for ``digits``).
    """

    name: str
    split: str
    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    shape: tuple[int, int, int]
    normalize: str
    levels: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    indices: np.ndarray
    subset: int | None
    seed: int
    stratify: bool
    source: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def in_dim(self) -> int:
        """Inputs per image, ``C·H·W`` (the input width of an MLP)."""
        return int(np.prod(self.shape))

    def one_hot(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """``(n, n_classes)`` one-hot labels in ``dtype`` (default: the dtype of ``x``), on ``x``'s device."""
        return torch.nn.functional.one_hot(self.y, self.n_classes).to(dtype or self.x.dtype)

    def info(self) -> dict[str, Any]:
        """JSON-able facts about the split (everything but the tensors and indices)."""
        return {"name": self.name, "split": self.split, "n": len(self), "shape": list(self.shape),
                "classes": list(self.classes), "flatten": self.x.ndim == 2, "dtype": str(self.x.dtype),
                "normalize": self.normalize, "levels": self.levels, "mean": list(self.mean), "std": list(self.std),
                "subset": self.subset, "seed": self.seed, "stratify": self.stratify, "source": list(self.source)}


def subset_indices(labels: np.ndarray | Sequence[int], subset: int, *, seed: int = 0,
                   stratify: bool = True) -> np.ndarray:
    """``subset`` distinct positions drawn from ``len(labels)``, in increasing order.

    Parameters
    ----------
    labels : array of int
        The class of each item of the split.
    subset : int
        How many to keep, ``1 <= subset <= len(labels)``.
    seed : int
        Seeds ``numpy.random.default_rng(seed)``; no global generator is used or touched.
    stratify : bool
        True: every class keeps its share of the split (proportional allocation, see Notes). False: a uniform
        draw without replacement (``rng.choice(n, subset, replace=False)``), as the authors' filtering script did.

    Notes
    -----
    Stratified: class ``c`` with ``n_c`` of the ``n`` items gets ``⌊subset·n_c/n⌋`` places; the places left over
    go one each to the classes with the largest remainders ``subset·n_c mod n`` (ties: the smaller class index).
    Then, class by class in increasing order, ``rng.choice(members_c, k_c, replace=False)``. The result depends
    only on ``(labels, subset, seed, stratify)``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.repeat([0, 1, 2], [50, 30, 20])
    >>> idx = subset_indices(labels, 10, seed=0)
    >>> np.bincount(labels[idx]).tolist()
    [5, 3, 2]
    >>> bool(np.array_equal(idx, subset_indices(labels, 10, seed=0)))
    True
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if isinstance(subset, bool) or not isinstance(subset, (int, np.integer)) or not 1 <= subset <= n:
        raise ConfigError(f"subset must be an integer between 1 and {n}; got {subset!r}")
    rng = np.random.default_rng(seed)
    if not stratify:
        return np.sort(rng.choice(n, size=int(subset), replace=False))
    classes, counts = np.unique(labels, return_counts=True)
    quota = int(subset) * counts.astype(np.int64)
    take = quota // n
    remainder = quota % n
    left = int(subset) - int(take.sum())
    if left:
        order = np.lexsort((np.arange(len(classes)), -remainder))  # largest remainder first, then class index
        take[order[:left]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=int(k), replace=False)
              for c, k in zip(classes, take) if k]
    return np.sort(np.concatenate(chosen))


def channel_stats(images: np.ndarray, levels: float = 255.0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population, ddof=0) standard deviation of ``uint8`` images ``(n, C, H, W)``, in units
    of ``pixel / levels``.

    Notes
    -----
    The sums ``S1 = Σ p`` and ``S2 = Σ p²`` over the ``N`` pixels of a channel are exact integers (blocks of uint16,
    where 255² fits, summed into uint64 and Python ints; no float copy of the images); ``mean = S1 / (N·levels)``
    and ``std = sqrt((N·S2 − S1²) / N²) / levels`` are formed from them with ``N·S2 − S1²`` exact, so the result
    is correct to a few units in the last place of float64 (no cancellation).

    Examples
    --------
    >>> import numpy as np
    >>> mean, std = channel_stats(np.array([[[[0, 255]]], [[[255, 255]]]], dtype=np.uint8), levels=255)
    >>> mean, round(std[0] ** 2, 12)
    ((0.75,), 0.1875)
    """
    if images.dtype != np.uint8 or images.ndim != 4:
        raise TypeError(f"images must be a uint8 array (n, C, H, W); got {images.dtype} of shape {images.shape}")
    per_image = int(np.prod(images.shape[2:]))
    count = images.shape[0] * per_image
    if count == 0:
        raise DataError("channel statistics of an empty split are undefined")
    block = max(1, (1 << 20) // max(1, per_image))
    means, stds = [], []
    for c in range(images.shape[1]):
        s1 = s2 = 0
        for i in range(0, images.shape[0], block):
            chunk = images[i:i + block, c].astype(np.uint16)
            s1 += int(chunk.sum(dtype=np.uint64))
            chunk *= chunk  # 255² = 65025 fits in uint16
            s2 += int(chunk.sum(dtype=np.uint64))
        means.append(s1 / (count * levels))
        stds.append(math.sqrt((count * s2 - s1 * s1) / (count * count)) / levels)
    return tuple(means), tuple(stds)


def _normalize_mode(normalize: str | bool) -> str:
    if normalize is True:
        return "standard"
    if normalize is False:
        return "none"
    if normalize not in NORMALIZATIONS:
        raise ConfigError(f"normalize must be one of {', '.join(NORMALIZATIONS)} (or True/False); got {normalize!r}")
    return normalize


def _check_stats(stats: Any, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    try:
        mean, std = (tuple(float(v) for v in part) for part in stats)
    except (TypeError, ValueError):
        raise ConfigError(f"stats must be (mean, std), each {channels} number(s); got {stats!r}") from None
    if len(mean) != channels or len(std) != channels:
        raise ConfigError(f"stats must hold {channels} mean(s) and {channels} std(s); got {stats!r}")
    if not all(np.isfinite(mean)) or not all(np.isfinite(s) and s > 0 for s in std):
        raise ConfigError(f"stats: means must be finite and stds finite and > 0; got {stats!r}")
    return mean, std


def _images_to_tensor(raw: RawSplit, idx: np.ndarray | None, levels: float, mean: Sequence[float],
                      std: Sequence[float], dtype: torch.dtype, device: torch.device, flatten: bool) -> torch.Tensor:
    pixels = raw.images if idx is None else raw.images[idx]
    # the uint8 pixels go to the device first (4-8x less to transfer), then become floats there
    x = torch.from_numpy(np.ascontiguousarray(pixels)).to(device).to(dtype)
    if levels != 1:
        x.div_(levels)
    for c, (m, s) in enumerate(zip(mean, std)):
        if m != 0 or s != 1:
            x[:, c].sub_(m).div_(s)
    return x.reshape(x.shape[0], -1) if flatten else x


def _load(name: str, wanted: list[tuple[str, int | None]], *, data_dir: str | os.PathLike | None, seed: int,
          stratify: bool, normalize: str | bool, stats: Any, flatten: bool, dtype: torch.dtype,
          device: str | torch.device) -> list[Dataset]:
    spec: DatasetSpec = dataset_spec(name)
    mode = _normalize_mode(normalize)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point or dtype.is_complex:
        raise TypeError(f"dtype must be a real floating torch dtype (torch.float32, torch.float64, ...); got {dtype!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer; got {seed!r}")
    for split, subset in wanted:
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
        if subset is not None and (isinstance(subset, bool) or not isinstance(subset, (int, np.integer))
                                   or subset < 1):
            raise ConfigError(f"subset must be a positive integer or None (the whole split); got {subset!r}")
    if stats is not None:
        if mode != "standard":
            raise ConfigError(f"stats are used by normalize='standard' only; got normalize={normalize!r}")
        stats = _check_stats(stats, spec.shape[0])
    device = torch.device(device)

    # plan: files, counts and bytes, before any pixel is read
    needed = [split for split, _ in wanted]
    if mode == "standard" and stats is None and "train" not in needed:
        needed.append("train")  # the statistics of the training split normalise every split
    plans = {split: plan_split(spec, split, data_dir) for split in dict.fromkeys(needed)}
    chw = int(np.prod(spec.shape))
    itemsize = torch.empty((), dtype=dtype).element_size()
    out_bytes = 0
    for split, subset in wanted:
        n = plans[split].n
        if subset is not None and spec.idx and subset > n:
            raise DataError(f"subset={subset} is more than the {n} images of the {spec.name} {split} split "
                            f"({plans[split].files[0]})")
        k = min(subset or n, n)
        out_bytes += k * (chw * (itemsize + 1) + 8)  # floats, the uint8 selection they come from, labels
    raw_bytes = sum(p.raw_bytes for p in plans.values())
    what = (f"loading {spec.name} ({' and '.join(s for s, _ in wanted)}, {'x'.join(map(str, spec.shape))} images "
            f"as {str(dtype).replace('torch.', '')})")
    check_memory(raw_bytes + out_bytes, what)

    raws = {split: read_split(plan) for split, plan in plans.items()}
    levels = float(spec.levels) if mode != "none" else 1.0
    if mode == "standard":
        mean, std = stats if stats is not None else channel_stats(raws["train"].images, levels)
        if not all(s > 0 for s in std):
            raise DataError(f"{spec.name}: a channel of the training split is constant (std {std}); standard "
                            "normalisation is undefined, use normalize='unit'")
    else:
        mean, std = (0.0,) * spec.shape[0], (1.0,) * spec.shape[0]

    out = []
    for split, subset in wanted:
        raw = raws[split]
        n = raw.labels.shape[0]
        if subset is not None and subset > n:
            raise DataError(f"subset={subset} is more than the {n} images of the {spec.name} {split} split")
        idx = None if subset is None else subset_indices(raw.labels, subset, seed=seed, stratify=stratify)
        x = _images_to_tensor(raw, idx, levels, mean, std, dtype, device, flatten)
        labels = raw.labels if idx is None else raw.labels[idx]
        out.append(Dataset(spec.name, split, x, torch.from_numpy(np.ascontiguousarray(labels)).to(device),
                           spec.classes, spec.shape, mode, levels, tuple(mean), tuple(std),
                           np.arange(n) if idx is None else idx, subset, int(seed), bool(stratify), raw.source))
    return out


def load_dataset(name: str, *, split: str = "train", data_dir: str | os.PathLike | None = None,
                 subset: int | None = None, seed: int = 0, stratify: bool = True,
                 normalize: str | bool = "standard", stats: tuple[Sequence[float], Sequence[float]] | None = None,
                 flatten: bool = False, dtype: torch.dtype = torch.float32,
                 device: str | torch.device = "cpu") -> Dataset:
    """Load one split of an image classification dataset as tensors. Never downloads.

    Parameters
    ----------
    name : str
        ``"digits"`` (scikit-learn, offline), ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"``.
    split : str
        ``"train"`` or ``"test"``. digits has no official test split; see :func:`~freqlens.lab.data.sources.
        digits_split` for the fixed one used (every 5th image of each class: 1,442 train, 355 test).
    data_dir : path, optional
        Folder of the files (not used for digits); default ``$FREQLENS_DATA_DIR``. Searched in order:
        mnist — ``mnist/``, ``MNIST/raw/``, the folder itself; fashion-mnist — ``fashion-mnist/``, ``fashion/``,
        ``FashionMNIST/raw/``, the folder itself; cifar10 — ``cifar-10-batches-py/``, the folder itself. MNIST
        files: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
        ``t10k-labels-idx1-ubyte``, each plain or ``.gz``; CIFAR-10: ``data_batch_1`` … ``data_batch_5``,
        ``test_batch``.
    subset : int, optional
        Keep this many images of the split, drawn by :func:`subset_indices` with ``seed`` and ``stratify``.
    seed : int
        Seeds the subset draw (``numpy.random.default_rng(seed)``); global generators are never used.
    stratify : bool
        Subset keeps each class's share (True, default) or is a uniform draw (False).
    normalize : {"standard", "unit", "none"} or bool
        See Notes. True is "standard", False is "none".
    stats : (mean, std), optional
        Per-channel mean and std (units of ``pixel / levels``) to use instead of the training split's, e.g.
        ``(train.mean, train.std)`` of a loaded training split; "standard" only.
    flatten : bool
        ``x`` as ``(n, C·H·W)`` instead of ``(n, C, H, W)``.
    dtype, device
        Of ``x`` (``y`` is int64 on the same device).

    Returns
    -------
    Dataset

    Raises
    ------
    ConfigError
        Unknown name, split or normalisation; bad subset, seed or stats.
    DataError
        No data folder given (the message names ``data_dir`` and ``FREQLENS_DATA_DIR``), files missing (the
        message lists the expected names), corrupt files (wrong magic number, truncated, wrong sizes, a pickle
        that is not a CIFAR batch or references code), image and label counts that differ, a subset larger than
        the split, or a request larger than the available memory (refused before reading, with both figures).

    Notes
    -----
    Every mode is the same affine map of the raw pixel ``p`` of channel ``c``, computed in ``dtype``::

        x = (p / levels - mean[c]) / std[c]

    ``levels`` is the largest pixel value of the dataset: 255 for MNIST, Fashion-MNIST and CIFAR-10, **16 for
    digits** (its pixels are 0..16).

    - ``"standard"`` (default): ``mean[c]`` and ``std[c]`` are the mean and population standard deviation of
      channel ``c`` over the **whole training split** (all of its images, whatever ``subset`` is; for digits the
      1,442 training images of the fixed split), in units of ``p / levels``. The test split uses the training
      statistics too (loading it alone reads the training files for them unless ``stats`` is given). MNIST:
      mean 0.1307, std 0.3081.
    - ``"unit"``: ``mean = 0``, ``std = 1``, so ``x = p / levels`` in [0, 1] — the scaling of the authors' filtering
      script (pixels / 255), in which the filtering experiment's δ values are expressed.
    - ``"none"``: ``levels = 1``, ``x = p`` (0..255, or 0..16 for digits).

    Examples
    --------
    >>> ds = load_dataset("digits", split="test", normalize="unit")
    >>> tuple(ds.x.shape), ds.levels, float(ds.x.max())
    ((355, 1, 8, 8), 16.0, 1.0)
    >>> small = load_dataset("digits", subset=100, seed=1, flatten=True)
    >>> tuple(small.x.shape), small.y.bincount().tolist()
    ((100, 64), [10, 10, 10, 10, 10, 10, 10, 10, 10, 10])
    """
    return _load(name, [(split, subset)], data_dir=data_dir, seed=seed, stratify=stratify, normalize=normalize,
                 stats=stats, flatten=flatten, dtype=dtype, device=device)[0]


def load_splits(name: str, *, data_dir: str | os.PathLike | None = None, subset: int | None = None,
                test_subset: int | None = None, seed: int = 0, stratify: bool = True,
                normalize: str | bool = "standard", stats: tuple[Sequence[float], Sequence[float]] | None = None,
                flatten: bool = False, dtype: torch.dtype = torch.float32,
                device: str | torch.device = "cpu") -> tuple[Dataset, Dataset]:
    """The training and test splits of ``name``, normalised alike, reading each file once.

    Same as ``load_dataset(name, split="train", subset=subset, ...)`` and ``load_dataset(name, split="test",
    subset=test_subset, ...)`` (both subsets drawn with ``seed``; the test split is normalised with the training
    statistics), in one pass over the files. See :func:`load_dataset` for the parameters.

    Examples
    --------
    >>> train, test = load_splits("digits", subset=500, seed=0)
    >>> len(train), len(test), train.mean == test.mean
    (500, 355, True)
    """
    train, test = _load(name, [("train", subset), ("test", test_subset)], data_dir=data_dir, seed=seed,
                        stratify=stratify, normalize=normalize, stats=stats, flatten=flatten, dtype=dtype,
                        device=device)
    return train, test

"""Where each dataset's raw pixels come from: the table of datasets, finding their files, and reading one split
as ``uint8`` images and ``int64`` labels, with every size checked before the pixels are read.

freqlens never downloads. ``digits`` comes with scikit-learn; MNIST, Fashion-MNIST and CIFAR-10 are read from a
folder the user names (``data_dir=``, ``--data-dir``, or the ``FREQLENS_DATA_DIR`` environment variable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from freqlens.errors import ConfigError, DataError
from freqlens.lab.data.cifar import CIFAR10_CLASSES, read_cifar_batch
from freqlens.lab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, read_idx_header

__all__ = ["DATASETS", "DATA_DIR_ENV", "DIGITS_TEST_EVERY", "DatasetSpec", "RawSplit", "SplitPlan", "dataset_spec",
           "digits_split", "locate", "plan_split", "read_split", "resolve_data_dir"]

DATA_DIR_ENV = "FREQLENS_DATA_DIR"
DIGITS_TEST_EVERY = 5  # digits: within each class, every 5th image in file order is a test image


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset freqlens can load.

    ``shape`` is one image's (channels, height, width); ``levels`` the largest pixel value (16 for digits, 255
    otherwise); ``sizes`` the image counts of the standard (train, test) files; ``files`` the file names of each
    split (IDX files may also carry ``.gz``); ``subfolders`` where under ``data_dir`` to look, in order (``""`` is
    ``data_dir`` itself).
    """

    name: str
    shape: tuple[int, int, int]
    classes: tuple[str, ...]
    levels: int
    sizes: tuple[int, int]
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    subfolders: tuple[str, ...] = ("",)
    idx: bool = False

    @property
    def needs_files(self) -> bool:
        return bool(self.files)

    def expected(self, split: str) -> list[str]:
        """The file names a split needs, as shown in messages (``name[.gz]`` for IDX files)."""
        return [f"{f}[.gz]" if self.idx else f for f in self.files[split]]


_IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec("digits", (1, 8, 8), tuple("0123456789"), 16, (1442, 355)),
    "mnist": DatasetSpec("mnist", (1, 28, 28), tuple("0123456789"), 255, (60000, 10000), _IDX_FILES,
                         ("mnist", "MNIST/raw", ""), idx=True),
    "fashion-mnist": DatasetSpec(
        "fashion-mnist", (1, 28, 28),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        255, (60000, 10000), _IDX_FILES, ("fashion-mnist", "fashion", "FashionMNIST/raw", ""), idx=True),
    "cifar10": DatasetSpec("cifar10", (3, 32, 32), CIFAR10_CLASSES, 255, (50000, 10000),
                           {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
                           ("cifar-10-batches-py", "")),
}
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "fashion": "fashion-mnist",
            "cifar-10": "cifar10", "cifar_10": "cifar10"}


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name`` (``digits``, ``mnist``, ``fashion-mnist``, ``cifar10``; case-insensitive,
    ``fashion_mnist``/``cifar-10`` accepted)."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise ConfigError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    return DATASETS[key]


def resolve_data_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The folder to read ``name`` from: ``data_dir`` if given, else ``$FREQLENS_DATA_DIR``.

    Raises
    ------
    DataError
        Neither is set (the message says which option to set), or the folder does not exist.
    """
    spec = dataset_spec(name)
    origin = "data_dir"
    if data_dir is None or str(data_dir) == "":
        data_dir, origin = os.environ.get(DATA_DIR_ENV, ""), DATA_DIR_ENV
        if not data_dir:
            raise DataError(
                f"{spec.name} is read from files and freqlens never downloads: set data_dir (--data-dir on the "
                f"command line) or the {DATA_DIR_ENV} environment variable to the folder holding "
                f"{', '.join(spec.expected('train') + spec.expected('test'))} (the offline dataset is 'digits')")
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataError(f"{origin} {str(path)!r} is not a folder; it must hold the {spec.name} files "
                        f"({', '.join(spec.expected('train') + spec.expected('test'))})")
    return path


def _find(folder: Path, name: str, idx: bool) -> Path | None:
    for candidate in (name, name + ".gz") if idx else (name,):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def locate(spec: DatasetSpec, split: str, data_dir: Path) -> tuple[Path, ...]:
    """The files of ``split`` in the first of ``spec.subfolders`` (under ``data_dir``) that holds all of them."""
    folders = [data_dir / sub if sub else data_dir for sub in spec.subfolders]
    best: tuple[int, Path, list[str]] | None = None
    for folder in folders:
        found = [_find(folder, f, spec.idx) for f in spec.files[split]]
        if all(found):
            return tuple(found)  # type: ignore[arg-type]
        missing = [e for e, p in zip(spec.expected(split), found) if p is None]
        n_found = len(found) - len(missing)
        if best is None or n_found > best[0]:
            best = (n_found, folder, missing)
    assert best is not None
    looked = ", ".join(str(f) for f in folders)
    if best[0] == 0:
        raise DataError(f"{spec.name}: no {split} files in {data_dir} (looked in {looked}); expected "
                        f"{', '.join(spec.expected(split))}")
    raise DataError(f"{spec.name}: incomplete {split} split in {best[1]}: missing {', '.join(best[2])} "
                    f"(expected {', '.join(spec.expected(split))})")


def digits_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed train/test split of scikit-learn's digits: ``(train_indices, test_indices)`` into the 1,797 images.

    Notes
    -----
    Within each class, the images are taken in file order and every ``DIGITS_TEST_EVERY``-th (5th) one — ranks
    4, 9, 14, … counted from 0 within its class — goes to the test split. The split is stratified (⌊n_c / 5⌋ test
    images per class: 355 in all, 1,442 for training), uses no random numbers and so never changes with numpy's
    generators. Both index arrays are increasing.

    Examples
    --------
    >>> import numpy as np
    >>> train, test = digits_split(np.array([0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1]))
    >>> test.tolist()
    [6, 9]
    """
    labels = np.asarray(labels)
    test = np.zeros(labels.shape[0], dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        test[members[DIGITS_TEST_EVERY - 1::DIGITS_TEST_EVERY]] = True
    return np.flatnonzero(~test), np.flatnonzero(test)


@dataclass(frozen=True)
class SplitPlan:
    """What reading one split will take, known before its pixels are read: files, image count and bytes."""

    spec: DatasetSpec
    split: str
    files: tuple[Path, ...]
    n: int  # images (an upper bound for CIFAR-10, whose count is known only after unpickling)
    raw_bytes: int  # peak bytes of the reading itself (images, labels, file buffers)


@dataclass(frozen=True)
class RawSplit:
    """One split as read: ``images`` uint8 (n, C, H, W), ``labels`` int64 (n,), ``source`` what was read."""

    images: np.ndarray
    labels: np.ndarray
    source: tuple[str, ...]


def plan_split(spec: DatasetSpec, split: str, data_dir: str | os.PathLike | None) -> SplitPlan:
    """Find the files of ``split`` and read their headers (IDX) or sizes (CIFAR-10), checking that images and
    labels agree, without reading any pixel."""
    chw = int(np.prod(spec.shape))
    if not spec.needs_files:  # digits: a few hundred KiB from scikit-learn
        n = sum(spec.sizes)
        return SplitPlan(spec, split, (), n, n * (chw * 9 + 16))
    folder = resolve_data_dir(spec.name, data_dir)
    files = locate(spec, split, folder)
    if spec.idx:
        images, labels = read_idx_header(files[0], magic=IMAGES_MAGIC), read_idx_header(files[1], magic=LABELS_MAGIC)
        if images.shape[1:] != spec.shape[1:]:
            raise DataError(f"{files[0]}: images of {images.shape[1]}x{images.shape[2]} pixels; {spec.name} images "
                            f"are {spec.shape[1]}x{spec.shape[2]}")
        if labels.shape[0] != images.shape[0]:
            raise DataError(f"{spec.name} {split}: {images.shape[0]} images in {files[0].name} but {labels.shape[0]} "
                            f"labels in {files[1].name}")
        n = images.shape[0]
        return SplitPlan(spec, split, files, n, n * (chw + 1 + 8))
    sizes = [p.stat().st_size for p in files]
    n = sum(sizes) // chw  # each image takes at least chw bytes of its file
    return SplitPlan(spec, split, files, n, sum(sizes) + 2 * max(sizes) + n * 8)


def _read_digits(split: str) -> RawSplit:
    try:
        import sklearn
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        raise DataError("the digits dataset comes with scikit-learn, which is not installed "
                        "(pip install scikit-learn)") from None
    bunch = load_digits()
    images = np.asarray(bunch.images)
    if images.min() < 0 or images.max() > 16 or not np.array_equal(images, np.round(images)):
        raise DataError("scikit-learn's digits are not integers in 0..16 as expected")  # pragma: no cover
    labels = np.asarray(bunch.target, dtype=np.int64)
    train, test = digits_split(labels)
    keep = train if split == "train" else test
    return RawSplit(images[keep].astype(np.uint8)[:, None], labels[keep],
                    (f"scikit-learn {sklearn.__version__} load_digits() ({split}: every {DIGITS_TEST_EVERY}th "
                     f"image of each class is a test image)",))


def read_split(plan: SplitPlan) -> RawSplit:
    """Read the split a :func:`plan_split` located (the caller has checked memory against ``plan.raw_bytes``)."""
    spec = plan.spec
    if not spec.needs_files:
        return _read_digits(plan.split)
    source = tuple(str(p) for p in plan.files)
    if spec.idx:
        images = read_idx(plan.files[0], magic=IMAGES_MAGIC)
        labels = read_idx(plan.files[1], magic=LABELS_MAGIC)
        if labels.shape[0] != images.shape[0]:  # pragma: no cover - checked by plan_split
            raise DataError(f"{spec.name} {plan.split}: {images.shape[0]} images but {labels.shape[0]} labels")
        if labels.size and labels.max() >= len(spec.classes):
            raise DataError(f"{plan.files[1]}: labels outside 0..{len(spec.classes) - 1} (found {labels.max()})")
        return RawSplit(images[:, None], labels.astype(np.int64), source)
    # plan.n bounds the count from above (every image takes 3072 bytes of its file); untouched pages cost nothing
    images = np.empty((plan.n, *spec.shape), dtype=np.uint8)
    labels = np.empty(plan.n, dtype=np.int64)
    pos = 0
    for path in plan.files:
        batch_images, batch_labels = read_cifar_batch(path)
        k = batch_images.shape[0]
        images[pos:pos + k], labels[pos:pos + k] = batch_images, batch_labels
        pos += k
    return RawSplit(images[:pos], labels[:pos], source)

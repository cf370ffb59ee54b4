"""The classification family: the Frequency Principle on image datasets, measured in high dimension.

A grid DFT is impossible in 64 to 3,072 dimensions, so (Xu et al. 2019) the response frequency of a classifier is
measured by the **projection method** (a non-uniform DFT of labels and softmax outputs along the first principal
component of the inputs: :class:`~freqlens.lab.monitors.projection.ProjectionMonitor`) and the **filtering
method** (a Gaussian low-pass in input space splits labels and outputs into low and high parts; e_low and e_high
track how well each is fitted: :class:`~freqlens.lab.monitors.filtering.FilteringMonitor`). Accuracy and loss on
the training and test splits are recorded too, and for convolutional nets the first layer's kernels in the
frequency domain (:class:`~freqlens.lab.monitors.kernels.KernelMonitor`).

One step of a run is one **epoch** of minibatches (the sampler is seeded and saved with the checkpoint);
``eval_every`` and ``checkpoint_every`` count epochs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from freqlens.errors import ConfigError
from freqlens.lab.config import MAX_STEPS, TrainConfig, choice, int_range, positive_float
from freqlens.lab.family import Experiment, Family, Problem, register_experiment, register_family

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
MODELS = ("mlp", "cnn", "vgg16")
LOSSES = ("ce", "mse")
NORMALIZE = ("standard", "unit", "none")
MONITORS = ("accuracy", "projection", "filtering", "kernels")
FILTER_MODES = ("auto", "exact", "deferred")
SHAPES = {"digits": ((1, 8, 8), 1442, 355), "mnist": ((1, 28, 28), 60000, 10000),
          "fashion-mnist": ((1, 28, 28), 60000, 10000), "cifar10": ((3, 32, 32), 50000, 10000)}


@dataclass
class ClassifyConfig(TrainConfig):
    """Settings of a classification run (``steps`` and the schedules count epochs)."""

    # --- data ---------------------------------------------------------------------------------------------
    dataset: str = "digits"
    data_dir: str = ""  # folder holding the dataset's files ("" = $FREQLENS_DATA_DIR); digits needs none
    subset: int = 0  # training images (0 = the whole training split)
    test_subset: int = 0  # test images (0 = the whole test split)
    data_seed: int = 0  # draws the subsets (the same data for every seed of the model)
    stratify: bool = True  # subsets keep the class proportions
    normalize: str = "standard"  # "standard" (per-channel mean/std), "unit" (pixels in [0, 1]), "none"
    # --- model --------------------------------------------------------------------------------------------
    model: str = "mlp"  # "mlp" (flattened inputs), "cnn" (conv32-conv64-pool-FC400-FC10), "vgg16"
    hidden: list[int] = field(default_factory=lambda: [400, 200])  # MLP widths
    activation: str = "relu"
    init: str = "default"  # "default" (PyTorch's), "xavier", "kaiming"
    batch_norm: bool = False  # VGG only
    width_scale: float = 1.0  # VGG only: channels and head width × this
    loss: str = "ce"  # "ce" (cross-entropy on logits) or "mse" (on softmax vs one-hot)
    batch_size: int = 50
    # --- measurement --------------------------------------------------------------------------------------
    monitors: list[str] = field(default_factory=lambda: ["accuracy", "projection", "filtering", "kernels"])
    deltas: list[float] = field(default_factory=list)  # filtering scales δ (empty = chosen from the data)
    filter_mode: str = "auto"  # "exact" every evaluation, "deferred" (previews; every record exact at the end), "auto"
    n_freqs: int = 256  # projection: frequency grid size
    max_peaks: int = 6  # projection: tracked peaks of |ŷ_k|
    threshold: float = 0.1  # projection: ΔF convergence threshold
    hold: int = 3  # projection: consecutive evaluations below the threshold

    def n_train(self) -> int:
        full = SHAPES[self.dataset][1]
        return min(self.subset, full) if self.subset else full

    def n_test(self) -> int:
        full = SHAPES[self.dataset][2]
        return min(self.test_subset, full) if self.test_subset else full

    def n_params(self) -> int:
        (c, h, w), classes = SHAPES[self.dataset][0], 10
        if self.model == "mlp":
            dims = [c * h * w, *self.hidden, classes]
            return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))
        if self.model == "cnn":
            return (c * 9 + 1) * 32 + (32 * 9 + 1) * 64 + (64 * ((h - 4) // 2) * ((w - 4) // 2) + 1) * 400 \
                + 401 * classes
        s = self.width_scale
        return int(14.7e6 * s * s + (512 * s + 1) * 512 * s * 2 + 512 * s * classes)

    def memory_bytes(self) -> int:
        (c, h, w) = SHAPES[self.dataset][0]
        d = c * h * w
        s = 8 if self.dtype == "float64" else 4
        n, n_test = self.n_train(), self.n_test()
        data = (n + n_test) * d * (s + 1) * 2  # tensors, the raw bytes while reading, a flattened view
        model = 4 * self.n_params() * s
        per_sample = d * (60 if self.model != "mlp" else 2) * s  # activations of the conv stack per image
        batches = (self.batch_size + 1024) * per_sample
        outputs = 4 * (n + n_test) * 10 * 8  # logits and probabilities, a few copies
        return data + model + batches + outputs

    def memory_summary(self) -> str:
        return (f"{self.n_train():,} + {self.n_test():,} {self.dataset} images, a {self.model} of "
                f"{self.n_params():,} parameters")

    def validate(self) -> "ClassifyConfig":
        super().validate()
        choice("dataset", self.dataset, DATASETS)
        choice("model", self.model, MODELS)
        choice("loss", self.loss, LOSSES)
        choice("normalize", self.normalize, NORMALIZE)
        choice("filter_mode", self.filter_mode, FILTER_MODES)
        for name in self.monitors:
            choice("monitors", name, MONITORS)
        if len(set(self.monitors)) != len(self.monitors):
            raise ConfigError(f"monitors must be distinct, got {self.monitors}")
        if not self.monitors:
            raise ConfigError(f"monitors must name at least one of {', '.join(MONITORS)}")
        if not self.active_monitors():
            raise ConfigError("monitors=kernels records a convolutional first layer: use model=cnn or vgg16, or add "
                              "accuracy, projection or filtering")
        int_range("subset", self.subset, 0, 10**8)
        int_range("test_subset", self.test_subset, 0, 10**8)
        if self.subset and self.subset < 10:
            raise ConfigError(f"subset must be 0 (all) or at least 10 images, got {self.subset}")
        int_range("data_seed", self.data_seed, 0, 2**32 - 1)
        int_range("batch_size", self.batch_size, 1, 10**7)
        if not self.hidden or any(not 1 <= v <= 10**6 for v in self.hidden):
            raise ConfigError(f"hidden must list widths >= 1, got {self.hidden}")
        positive_float("width_scale", self.width_scale)
        for v in self.deltas:
            if not (v > 0 and math.isfinite(v)):
                raise ConfigError(f"deltas must be finite numbers > 0 (the Gaussian's variance), got {v}")
        if len(set(self.deltas)) != len(self.deltas):
            raise ConfigError(f"deltas must be distinct, got {self.deltas}")
        int_range("n_freqs", self.n_freqs, 4, 100_000)
        int_range("max_peaks", self.max_peaks, 1, 1000)
        if not 0 < self.threshold < 1:
            raise ConfigError(f"threshold must be in (0, 1) (a relative error), got {self.threshold}")
        int_range("hold", self.hold, 1, MAX_STEPS)
        if self.model == "cnn" and min(SHAPES[self.dataset][0][1:]) < 6:
            raise ConfigError(f"model=cnn needs images of at least 6×6 pixels; {self.dataset} has "
                              f"{SHAPES[self.dataset][0][1]}×{SHAPES[self.dataset][0][2]}")
        return self

    def active_monitors(self) -> list[str]:
        """The monitors that apply (the kernels monitor only to convolutional models)."""
        return [m for m in self.monitors if m != "kernels" or self.model != "mlp"]


# ---------------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _splits(dataset: str, data_dir: str, subset: int, test_subset: int, seed: int, stratify: bool,
            normalize: str, flatten: bool, dtype: torch.dtype, device: str):
    """The two splits of a run, read once (its members train on the same data; :meth:`ClassifyFamily.check`
    clears the cache when a run starts or resumes)."""
    from freqlens.lab.data.datasets import load_splits

    return load_splits(dataset, data_dir=data_dir or None, subset=subset or None, test_subset=test_subset or None,
                       seed=seed, stratify=stratify, normalize=normalize, flatten=flatten, dtype=dtype,
                       device=device)


def load_data(cfg: ClassifyConfig, device: torch.device, dtype: torch.dtype):
    return _splits(cfg.dataset, cfg.data_dir, cfg.subset, cfg.test_subset, cfg.data_seed, cfg.stratify,
                   cfg.normalize, cfg.model == "mlp", dtype, str(device))


def build_model(cfg: ClassifyConfig, train, seed: int, device: torch.device, dtype: torch.dtype):
    from freqlens.lab.models.classifiers import classifier_mlp, small_cnn, vgg16

    gen = torch.Generator().manual_seed(seed)
    c, h, w = train.shape
    if cfg.model == "mlp":
        return classifier_mlp(train.in_dim, cfg.hidden, train.n_classes, activation=cfg.activation,
                              init=cfg.init, generator=gen, dtype=dtype, device=device)
    if cfg.model == "cnn":
        return small_cnn(c, (h, w), train.n_classes, activation=cfg.activation,
                         init="xavier" if cfg.init == "default" else cfg.init, generator=gen, dtype=dtype,
                         device=device)
    return vgg16(c, (h, w), train.n_classes, batch_norm=cfg.batch_norm, width_scale=cfg.width_scale,
                 init="kaiming" if cfg.init == "default" else cfg.init, generator=gen, dtype=dtype, device=device)


def _mse_on_probabilities(n_classes: int):
    def loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        target = torch.nn.functional.one_hot(labels, n_classes).to(logits.dtype)
        return torch.mean((torch.softmax(logits, dim=1) - target) ** 2)
    return loss


class ClassifyFamily(Family):
    name = "classify"
    config = ClassifyConfig
    unit = "epoch"

    def build(self, cfg: ClassifyConfig, seed: int, device: torch.device, dtype: torch.dtype) -> Problem:
        train, test = load_data(cfg, device, dtype)
        model = build_model(cfg, train, seed, device, dtype)
        loss = torch.nn.functional.cross_entropy if cfg.loss == "ce" else _mse_on_probabilities(train.n_classes)
        x_test = test.x

        def evaluate(problem: Problem, train_outputs):
            return {"train": problem.predict(problem.x, batch=problem.eval_batch),
                    "test": problem.predict(x_test, batch=problem.eval_batch)}

        problem = Problem(model=model, x=train.x, y=train.y, loss=loss, batch_size=cfg.batch_size,
                          evaluate=evaluate, loss_name=cfg.loss, eval_batch=8192 if cfg.model == "mlp" else 512,
                          info={"dataset": train.info(), "test": test.info()}, data={"test_labels": test.y})
        return problem

    def monitors(self, cfg: ClassifyConfig, problem: Problem) -> list:
        from freqlens.lab.monitors.accuracy import AccuracyMonitor

        active = cfg.active_monitors()
        mons: list = []
        if "accuracy" in active:
            mons += [AccuracyMonitor(problem.y, split="train"), AccuracyMonitor(problem.data["test_labels"], split="test")]
        flat = problem.x.reshape(problem.x.shape[0], -1)
        n_classes = int(problem.y.max()) + 1
        if "projection" in active:
            from freqlens.lab.monitors.projection import ProjectionMonitor

            mons.append(ProjectionMonitor(flat, problem.y, n_classes=n_classes, n_freqs=cfg.n_freqs,
                                          max_peaks=cfg.max_peaks, threshold=cfg.threshold, hold=cfg.hold,
                                          device=flat.device))
            problem.info["projection_k"] = mons[-1].tracked
        if "filtering" in active:
            from freqlens.lab.monitors.filtering import FilteringMonitor

            mons.append(FilteringMonitor(flat, problem.y, n_classes=n_classes, deltas=cfg.deltas or "auto",
                                         mode=cfg.filter_mode, device=flat.device, seed=cfg.data_seed))
            problem.info["deltas"] = mons[-1].deltas
        if "kernels" in active:
            from freqlens.lab.monitors.kernels import KernelMonitor

            mons.append(KernelMonitor(problem.model, inputs=problem.x, patch_steps=[cfg.steps]))
        return mons

    def check(self, cfg: ClassifyConfig) -> None:
        from freqlens.lab.runner import resolve_device

        dtype = torch.float64 if cfg.dtype == "float64" else torch.float32
        _splits.cache_clear()  # a new run reads its files afresh (they may have changed); its members share them
        load_data(cfg, resolve_device(cfg.device), dtype)  # missing or corrupt files fail before a run exists

    def metric_axes(self, cfg: ClassifyConfig) -> dict[str, str]:
        axes = {"loss": "", "count": "counter"}
        active = cfg.active_monitors()
        if "accuracy" in active:
            axes.update(accuracy="split", ce_loss="split")
        if "projection" in active:
            axes.update(delta_f="k", delta_f_mag="k")
        if "filtering" in active:
            axes.update(e_low="delta", e_high="delta", e_low_preview="delta", e_high_preview="delta")
        if "kernels" in active:
            axes.update(kernel_band_energy="band", kernel_update_band_energy="band", kernel_centroid="stat",
                        kernel_drift="stat")
        return axes

    def views(self, cfg: ClassifyConfig) -> list[dict]:
        loss_name = "cross-entropy" if cfg.loss == "ce" else "MSE of softmax vs one-hot"
        views = [{"kind": "curves", "name": "loss", "metric": "loss", "title": f"Training loss ({loss_name}, mean "
                  "over each epoch)", "short": "training loss", "ylabel": loss_name, "log": True, "by": "member"}]
        active = cfg.active_monitors()
        if "accuracy" in active:
            views.append({"kind": "curves", "name": "accuracy", "metric": "accuracy", "axis": "split",
                          "title": "Accuracy on the training and test splits", "short": "accuracy",
                          "ylabel": "top-1 accuracy", "by": "key"})
        if "projection" in active:
            views += [
                {"kind": "heatmap", "name": "projection_heatmap", "metric": "delta_f", "axis": "k",
                 "clip": [0.1, 1.0], "marks": "convergence_step", "metric_label": "ΔF",
                 "title": "Projection method: ΔF at the peaks of |ŷ_k| along the first principal component",
                 "label": "ΔF(k) = ‖ĥ_k − ŷ_k‖ / ‖ŷ_k‖ along the first PC", "colorbar": "ΔF"},
                {"kind": "projection_spectrum", "name": "projection_spectrum", "file": "projection.npz",
                 "title": "|ŷ_k| of the labels and |ĥ_k| of the outputs along the first principal component"},
            ]
        if "filtering" in active:
            views.append({"kind": "filtering_panels", "name": "filtering", "file": "filtering.npz",
                          "title": "Filtering method: e_low and e_high against the epoch, one panel per δ"})
        if "kernels" in active:
            views += [{"kind": "kernel_grid", "name": "kernels", "file": "kernels.npz",
                       "title": "First-layer kernels at the start and the end of training, and what training added"},
                      {"kind": "kernel_responses", "name": "kernel_responses", "file": "kernels.npz",
                       "title": "The first-layer kernels' frequency responses at the start and the end"},
                      {"kind": "kernel_bands", "name": "kernel_bands", "file": "kernels.npz",
                       "title": "Share of the first-layer kernels' energy by radial frequency band over training"},
                      {"kind": "kernel_patches", "name": "kernel_patches", "file": "kernels.npz",
                       "title": "Training patches that match a few kernels best (cosine similarity)"}]
        return views


CLASSIFY = register_family(ClassifyFamily())

for _e in [
    Experiment(
        "fp-digits", "classify",
        "scikit-learn's 8×8 digits (offline; 1,442 training and 355 test images), MLP 64-400-200-10 ReLU, Adam "
        "1e-3, batches of 50, 40 epochs: the projection method's low peaks converge before the high ones, and the "
        "filtering method's e_low falls below e_high early in training.",
        {"dataset": "digits", "model": "mlp", "optimizer": "adam", "lr": 1e-3, "steps": 40, "eval_every": 1,
         "checkpoint_every": 5},
    ),
    Experiment(
        "fp-mnist", "classify",
        "MNIST from --data-dir (60,000 training images, IDX files), MLP 784-400-200-10 ReLU, Adam 1e-3, batches "
        "of 128, 10 epochs; projection and exact filtering on the whole training set.",
        {"dataset": "mnist", "model": "mlp", "optimizer": "adam", "lr": 1e-3, "batch_size": 128, "steps": 10,
         "eval_every": 1, "checkpoint_every": 1, "normalize": "unit", "deltas": [10.0, 20.0, 40.0, 80.0]},
    ),
    Experiment(
        "fp-fashion", "classify",
        "Fashion-MNIST from --data-dir, MLP 784-400-200-10 ReLU, Adam 1e-3, batches of 128, 10 epochs; projection "
        "and exact filtering.",
        {"dataset": "fashion-mnist", "model": "mlp", "optimizer": "adam", "lr": 1e-3, "batch_size": 128,
         "steps": 10, "eval_every": 1, "checkpoint_every": 1, "normalize": "unit",
         "deltas": [10.0, 20.0, 40.0, 80.0]},
    ),
    Experiment(
        "fp-cifar10", "classify",
        "CIFAR-10 from --data-dir: the authors' filtering setting - 5,000 training images (pixels / 255), the "
        "small CNN (conv32-conv64-pool-FC400-FC10, Xavier), SGD with Nesterov momentum 0.9, lr 1e-3, batches of "
        "50; δ = 2, 10, 50, 100 (squared distance units of pixels / 255).",
        {"dataset": "cifar10", "model": "cnn", "subset": 5000, "stratify": False, "normalize": "unit",
         "optimizer": "sgd", "nesterov": True, "momentum": 0.9, "lr": 1e-3, "batch_size": 50, "steps": 100,
         "eval_every": 1, "checkpoint_every": 5, "deltas": [2.0, 10.0, 50.0, 100.0]},
    ),
]:
    register_experiment(_e)

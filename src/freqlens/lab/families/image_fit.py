"""The image-fitting family: a network memorises an image as f(y, x) and learns its outline first, its detail later.

Pixel coordinates in ``[0, 1)`` go in, grey levels or RGB come out (Tancik et al. 2020's setting). With the
even/odd split the network trains on ``image[::2, ::2]`` of the loaded ("2×") image and is tested on
``image[1::2, 1::2]``, pixels it never saw; ``split=full`` trains and tests on every pixel. The measurement
(:class:`~freqlens.lab.monitors.image_bands.ImageBandMonitor`) runs on the training grid's reconstruction - the
training forward pass the optimizer computes anyway - so it costs one 2-D FFT per evaluation: ΔF per radial
frequency band, PSNR, and snapshots for the report's strip and animation; the test PSNR costs one forward pass over
the test pixels. Remedies of spectral bias are models: Fourier features (basic, positional, Gaussian), SIREN, and
multi-scale networks.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from freqlens.errors import ConfigError
from freqlens.lab.config import TrainConfig, choice, int_range, positive_float
from freqlens.lab.family import Experiment, Family, Problem, register_experiment, register_family

MODELS = ("mlp", "ff-basic", "ff-positional", "ff-gaussian", "siren", "mscale", "mscale-sub")
SPLITS = ("even-odd", "full")
TESTS = ("odd", "rest", "all")
OUTPUTS = ("sigmoid", "linear")


@dataclass
class ImageFitConfig(TrainConfig):
    """Settings of an image fit (``steps`` are full-batch optimizer steps over the training pixels)."""

    # --- the image ----------------------------------------------------------------------------------------
    image: str = "camera"  # a scikit-image sample (camera, astronaut, coffee, brick, grass, text, ...) or a file
    size: int = 256  # side of the loaded (2×) image after a centred square crop; 0 = the file's own size
    gray: bool = False  # convert a colour image to grey
    split: str = "even-odd"  # "even-odd": train on image[::2, ::2], test on image[1::2, 1::2]; "full": fit all
    test: str = "odd"  # even-odd split: "odd" pixels, "rest" (3/4 not trained on) or "all"
    # --- the model ----------------------------------------------------------------------------------------
    model: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [256, 256, 256])  # Tancik et al.'s network_depth = 4
    activation: str = ""  # "" = the model's own (relu; sin for siren; s2relu for mscale)
    output: str = "sigmoid"  # "sigmoid" (values in (0, 1)) or "linear"
    init: str = "default"
    mapping_size: int = 256  # ff-gaussian: random frequencies (2 × features); ff-positional: features / 2
    sigma: float = 10.0  # ff-gaussian: std of the frequencies, in cycles per image side
    max_freq: float = 64.0  # ff-positional: highest frequency, cycles per image side
    omega0: float = 30.0  # siren
    scales: list[float] = field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0, 16.0, 32.0])  # mscale
    # --- measurement --------------------------------------------------------------------------------------
    n_bands: int = 8  # equal radial bands from 0 to 0.5 cycles/pixel
    threshold: float = 0.1  # a band has converged when ΔF stays below this ...
    hold: int = 5  # ... for this many evaluations
    snapshots: int = 16  # reconstructions kept for the strip and the animation
    # --- comparisons (freqlens bench spectral-bias): one variant per image × model ---------------------------
    sweep_images: list[str] = field(default_factory=list)
    sweep_models: list[str] = field(default_factory=list)
    lr_by_model: list[str] = field(default_factory=list)  # "model=lr" items, e.g. mlp=1e-2,siren=1e-4

    def lrs(self) -> dict[str, float]:
        out = {}
        for item in self.lr_by_model:
            name, _, value = item.partition("=")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                raise ConfigError(f"lr_by_model items are model=lr, got {item!r}") from None
        return out

    def variants(self) -> list[tuple[str, "ImageFitConfig"]]:
        if not (self.sweep_images or self.sweep_models):
            return [("", self)]
        lrs = self.lrs()
        out = []
        for image in self.sweep_images or [self.image]:
            for model in self.sweep_models or [self.model]:
                label = "/".join(p for p in (image if self.sweep_images else "", model if self.sweep_models else "")
                                 if p)
                out.append((label, dataclasses.replace(self, image=image, model=model, lr=lrs.get(model, self.lr),
                                                       sweep_images=[], sweep_models=[], lr_by_model=[])))
        return out

    def n_params(self) -> int:
        channels = 1 if self.gray else 3  # an upper bound before the image is read
        feat = {"ff-gaussian": 2 * self.mapping_size, "ff-positional": 2 * self.mapping_size,
                "ff-basic": 4}.get(self.model, 2)
        dims = [feat, *self.hidden, channels]
        n = sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))
        return n * (len(self.scales) if self.model == "mscale-sub" else 1)

    def pixels(self) -> int:
        side = self.size or 1024
        return side * side // (4 if self.split == "even-odd" else 1)

    def memory_bytes(self) -> int:
        s = 8 if self.dtype == "float64" else 4
        feat = 2 * self.mapping_size if self.model.startswith("ff-") else 2
        per_pixel = (feat + 3 * sum(self.hidden) * (len(self.scales) if self.model == "mscale-sub" else 1)) * s
        side = self.size or 1024
        return 4 * self.n_params() * s + 2 * self.pixels() * per_pixel + side * side * 3 * 8 * 6

    def memory_summary(self) -> str:
        return f"a {self.model} of {self.n_params():,} parameters on {self.pixels():,} pixels"

    def validate(self) -> "ImageFitConfig":
        super().validate()
        if not self.image:
            raise ConfigError("image must name a bundled sample (e.g. camera) or a file")
        int_range("size", self.size, 0, 16384)
        if self.size and self.size < 8:
            raise ConfigError(f"size must be 0 (the image's own) or at least 8 pixels, got {self.size}")
        choice("split", self.split, SPLITS)
        choice("test", self.test, TESTS)
        choice("model", self.model, MODELS)
        choice("output", self.output, OUTPUTS)
        if not self.hidden or any(not 1 <= w <= 10**6 for w in self.hidden):
            raise ConfigError(f"hidden must list widths >= 1, got {self.hidden}")
        int_range("mapping_size", self.mapping_size, 1, 10**6)
        for name in ("sigma", "max_freq", "omega0"):
            positive_float(name, getattr(self, name))
        if not self.scales or any(not (v > 0 and math.isfinite(v)) for v in self.scales):
            raise ConfigError(f"scales must be numbers > 0, got {self.scales}")
        int_range("n_bands", self.n_bands, 1, 512)
        if not 0 < self.threshold < 1:
            raise ConfigError(f"threshold must be in (0, 1) (a relative error), got {self.threshold}")
        int_range("hold", self.hold, 1, 10**9)
        int_range("snapshots", self.snapshots, 2, 1000)
        for name in self.sweep_models:
            choice("sweep_models", name, MODELS)
        for name, lr in self.lrs().items():
            choice("lr_by_model", name, MODELS)
            positive_float(f"lr_by_model {name}", lr)
        for items, what in ((self.sweep_models, "sweep_models"), (self.sweep_images, "sweep_images")):
            if len(set(items)) != len(items):
                raise ConfigError(f"{what} must be distinct, got {items}")
        return self

    def check_overrides(self, given: set[str]) -> None:
        if self.sweep_models and "model" in given:
            raise ConfigError("model is set by sweep_models for each variant")
        if self.sweep_images and "image" in given:
            raise ConfigError("image is set by sweep_images for each variant")


def load_split(cfg: ImageFitConfig):
    """The image and its train/test pixels (refused up front when the image is too large for memory)."""
    from freqlens.lab.data.images import even_odd_split, fit_memory_per_pixel, full_split, load_image
    from freqlens._memory import available_memory

    per_pixel = fit_memory_per_pixel(cfg.hidden, 2 * cfg.mapping_size if cfg.model.startswith("ff-") else 2, 3)
    max_pixels = max(64, int(available_memory() // max(per_pixel, 1)))
    img = load_image(cfg.image, size=cfg.size or None, gray=cfg.gray, max_pixels=max_pixels)
    return even_odd_split(img, test=cfg.test) if cfg.split == "even-odd" else full_split(img)


class ImageFitFamily(Family):
    name = "fp2d"
    config = ImageFitConfig
    unit = "step"

    def __init__(self):
        self._split = None  # (key, split): the image of the current run, read once for its members

    def split_of(self, cfg: ImageFitConfig):
        key = (cfg.image, cfg.size, cfg.gray, cfg.split, cfg.test)
        if self._split is None or self._split[0] != key:
            self._split = (key, load_split(cfg))
        return self._split[1]

    def build(self, cfg: ImageFitConfig, seed: int, device: torch.device, dtype: torch.dtype) -> Problem:
        from freqlens.lab.models.coords import coordinate_model

        sp = self.split_of(cfg)
        model = coordinate_model(cfg.model, 2, sp.channels, hidden=cfg.hidden, activation=cfg.activation or None,
                                 output=None if cfg.output == "linear" else "sigmoid", init=cfg.init,
                                 mapping_size=cfg.mapping_size, sigma=cfg.sigma, max_freq=cfg.max_freq,
                                 omega0=cfg.omega0, scales=cfg.scales, generator=torch.Generator().manual_seed(seed),
                                 dtype=dtype, device=device)
        as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)  # noqa: E731
        x_test = as_t(sp.x_test) if cfg.split == "even-odd" else None

        def evaluate(problem: Problem, train_outputs):
            out = {"train": train_outputs if train_outputs is not None else problem.predict(problem.x)}
            out["test"] = out["train"] if x_test is None else problem.predict(x_test)
            return out

        h, w = sp.train_shape
        return Problem(model=model, x=as_t(sp.x_train), y=as_t(sp.y_train), evaluate=evaluate,
                       arrays={"image": sp.image.astype(np.float32), "train_mask": sp.train_mask,
                               "test_mask": sp.test_mask},
                       info={"image": cfg.image, "shape": list(sp.image.shape), "train_shape": [h, w],
                             "n_train": int(sp.train_mask.sum()), "n_test": int(sp.test_mask.sum())},
                       data={"train_image": sp.image[sp.train_mask].reshape(h, w, -1).squeeze(),
                             "test_values": sp.y_test})

    def monitors(self, cfg: ImageFitConfig, problem: Problem) -> list:
        from freqlens.lab.monitors.image_bands import ImageBandMonitor, snapshot_schedule
        from freqlens.lab.monitors.psnr import PsnrMonitor

        target = problem.data["train_image"]
        bands = ImageBandMonitor(target, masks={"train": np.ones(target.shape[:2], bool)}, n_bands=cfg.n_bands,
                                 threshold=cfg.threshold, hold=cfg.hold, source="train",
                                 snapshot_steps=snapshot_schedule(cfg.steps, cfg.eval_every, cfg.snapshots))
        return [bands, PsnrMonitor(problem.data["test_values"], split="test")]

    def check(self, cfg: ImageFitConfig) -> None:
        from freqlens.lab.models.coords import coordinate_model

        for _, vcfg in cfg.variants():
            self._split = None  # a new run reads its images afresh
            sp = self.split_of(vcfg)
            # the model's own checks (activation, sizes) before a run exists: built once on the meta device
            coordinate_model(vcfg.model, 2, sp.channels, hidden=vcfg.hidden, activation=vcfg.activation or None,
                             output=None if vcfg.output == "linear" else "sigmoid", mapping_size=vcfg.mapping_size,
                             sigma=vcfg.sigma, max_freq=vcfg.max_freq, omega0=vcfg.omega0, scales=vcfg.scales,
                             generator=0, device="meta")
        self._split = None

    def n_params(self, cfg: ImageFitConfig) -> int:
        return max(v.n_params() for _, v in cfg.variants())

    def metric_axes(self, cfg: ImageFitConfig) -> dict[str, str]:
        return {"loss": "", "count": "counter", "delta_f_band": "band", "psnr": "split"}

    def views(self, cfg: ImageFitConfig) -> list[dict]:
        if cfg.sweep_images or cfg.sweep_models:
            return comparison_views(cfg)
        return [
            {"kind": "curves", "name": "loss", "metric": "loss", "title": "Training loss (MSE over the training "
             "pixels)", "short": "loss", "ylabel": "training loss (MSE)", "log": True, "by": "member"},
            {"kind": "image_snapshots", "name": "reconstructions", "file": "image_bands.npz",
             "title": "The reconstruction of the training pixels over training: the outline first, the detail later"},
            {"kind": "training_gif", "name": "training", "file": "image_bands.npz",
             "title": "Training as it looks: the reconstruction beside the spectrum of its error"},
            {"kind": "heatmap", "name": "bands", "metric": "delta_f_band", "axis": "band", "clip": [0.05, 1.0],
             "marks": "convergence_step", "metric_label": "ΔF", "colorbar": "ΔF per band",
             "title": "ΔF per radial frequency band (cycles/pixel) over training",
             "label": "ΔF(band) = ‖Ê‖_band / ‖Ŷ‖_band of the training image"},
            {"kind": "curves", "name": "psnr", "metric": "psnr", "axis": "split", "by": "key",
             "title": "PSNR on the training and test pixels", "short": "PSNR", "ylabel": "PSNR (dB)"},
            {"kind": "summary", "name": "band_convergence", "summary": "convergence_step", "axis": "band",
             "title": "Step at which each frequency band converges (spread across seeds)",
             "short": "convergence step per band", "xlabel": "radial band (centre, cycles/pixel)",
             "rule": f"ΔF < {cfg.threshold} for {cfg.hold} evals"},
        ]


def comparison_views(cfg: ImageFitConfig) -> list[dict]:
    """Views of a comparison (images × models): the table, the final reconstructions side by side, the band
    heat maps side by side, PSNR curves."""
    return [
        {"kind": "variant_table", "name": "table", "title": "Test PSNR (mean ± std over seeds), the step at which "
         "each radial band converges (median), training time per member",
         "value": {"metric": "psnr", "key": "test", "label": "test PSNR (dB)"}, "summary": "convergence_step",
         "summary_axis": "band"},
        {"kind": "variant_images", "name": "reconstructions", "file": "image_bands.npz",
         "title": "The final reconstruction of the training pixels, per image (rows) and model (columns)"},
        {"kind": "variant_heatmaps", "name": "bands", "metric": "delta_f_band", "axis": "band", "clip": [0.05, 1.0],
         "marks": "convergence_step", "label": "ΔF per radial band",
         "title": "ΔF per radial frequency band (cycles/pixel) over training, per variant"},
        {"kind": "curves", "name": "psnr", "metric": "psnr", "axis": "split", "by": "member_key", "key": "test",
         "title": "Test PSNR over training, per member", "short": "test PSNR", "ylabel": "PSNR (dB)"},
    ]


FP2D = register_family(ImageFitFamily())

register_experiment(Experiment(
    "fp2d", "fp2d",
    "the camera image at 256² as f(y, x): a ReLU MLP 2-256-256-256-1 with a sigmoid output (Tancik et al.'s "
    "network), Adam 1e-3, 1,000 full-batch steps on the even pixels, tested on the odd ones; the reconstruction "
    "shows the outline first and the detail later, the low radial bands converge first. Remedies: --set "
    "model=ff-gaussian (sigma=10), ff-positional, ff-basic, siren, mscale, mscale-sub.",
    {"lr": 1e-3, "steps": 1000, "eval_every": 25, "checkpoint_every": 250},
))
BENCH_MODELS = ["mlp", "ff-basic", "ff-positional", "ff-gaussian", "siren", "mscale"]
BENCH_LRS = ["mlp=1e-2", "siren=1e-4"]  # Tancik et al.'s lr for no mapping; Sitzmann et al.'s for SIREN
register_experiment(Experiment(
    "spectral-bias-2d", "fp2d",
    "every remedy of spectral bias and the plain MLP on the same images (camera: a photograph, brick: a texture, "
    "text) with the same budget and seeds: even pixels of a 128² crop, 3×256 networks, Adam (1e-3; 1e-2 for the "
    "plain MLP, 1e-4 for SIREN), 500 steps. Part of `freqlens bench spectral-bias`.",
    {"sweep_images": ["camera", "brick", "text"], "sweep_models": BENCH_MODELS, "lr_by_model": BENCH_LRS,
     "size": 128, "gray": True, "lr": 1e-3, "steps": 500, "eval_every": 25, "checkpoint_every": 250, "seeds": 2},
))

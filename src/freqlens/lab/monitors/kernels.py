"""CNN filters in the frequency domain: a monitor of the first convolution layer's kernels over training.

At each record it reads the weight of the model's first ``nn.Conv2d`` (it holds a reference to the model: the
``outputs`` passed to :meth:`KernelMonitor.record` are not used), keeps the kernels, and measures each kernel's
energy by radial frequency band (:mod:`~freqlens.lab.monitors.kernel_spectra`). At chosen steps (the end of
training, typically) it also finds the training patches that match each kernel best
(:func:`~freqlens.lab.monitors.patches.best_patches`).

>>> import torch
>>> from freqlens.lab.models.classifiers import small_cnn
>>> model = small_cnn(1, 8, generator=torch.Generator().manual_seed(0))
>>> mon = KernelMonitor(model, n_bands=2, grid=4)
>>> mon.axes["kernel_band_energy"]
('band', [0.125, 0.375, 0.603553])
>>> with torch.no_grad():
...     _ = model[0].weight.zero_()
...     model[0].weight[:, 0, 1, 1] = 1.0                  # 32 one-tap kernels: a flat response
>>> mon.record(0, None)["kernel_band_energy"].tolist()     # the bins of each band: 1, 10 and 5 of 16
[0.0625, 0.625, 0.3125]
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn

from freqlens._arrays import is_torch
from freqlens.errors import ConfigError
from freqlens.lab.monitors.kernel_spectra import (band_shares, kernel_power, low_share, radial_bands,
                                                  radial_centroid)
from freqlens.lab.monitors.patches import DEFAULT_CHUNK_BYTES, PatchMatches, best_patches

__all__ = ["KernelMonitor", "first_conv", "spread_kernels"]


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first ``nn.Conv2d`` of ``model`` in registration order (``model.modules()``): for an ``nn.Sequential``
    the first convolution applied to the input. ``model`` may be the layer itself.

    Raises
    ------
    ConfigError
        When ``model`` holds no ``nn.Conv2d`` (the message lists the layer types it has).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module
    kinds = sorted({type(m).__name__ for m in model.modules()})
    raise ConfigError(f"the model has no nn.Conv2d layer for KernelMonitor to read (it has: {', '.join(kinds)}); "
                      "use it with a CNN (small_cnn, vgg16) or pass the layer")


def spread_kernels(centroids: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` kernels spread evenly over the ranking of ``centroids`` (lowest to highest frequency).

    >>> spread_kernels(np.array([0.3, 0.1, 0.4, 0.2, 0.5]), 3).tolist()
    [1, 0, 4]
    """
    c = np.asarray(centroids, dtype=np.float64)
    order = np.argsort(np.where(np.isfinite(c), c, np.inf), kind="stable")
    n = min(int(n), c.size)
    return order[np.unique(np.round(np.linspace(0, c.size - 1, n)).astype(np.int64))]


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


class KernelMonitor:
    """Record the first convolution layer's kernels over training, in the frequency domain.

    Parameters
    ----------
    model_or_layer : nn.Module or callable
        A model (its first ``nn.Conv2d`` is read, see :func:`first_conv`), the ``nn.Conv2d`` itself, or a
        function returning the layer to read (called at every record). The monitor keeps this reference and
        reads the layer's weight ``(O, C, kh, kw)`` at each record.
    inputs : array_like or Tensor, shape (N, C, H, W), optional
        Training images for the patch search (not copied; any device). Needed when ``patch_steps`` is given.
    n_bands : int
        Radial bands of equal width from 0 to the Nyquist radius 0.5 cycles per pixel, plus the corner band
        (``rho > 0.5``): see :func:`~freqlens.lab.monitors.kernel_spectra.radial_bands`.
    grid : int
        The kernels are zero-padded to ``grid × grid`` for their frequency response (default 32).
    exclude_dc : bool
        Leave the DC bin (the kernel's sum) out of the band shares and the centroid. Default: included.
    n_kernels_shown : int
        How many kernels the figures pick (spread over the final ranking by centroid, see :meth:`shown`).
    top_patches : int
        Matches kept per kernel by the patch search.
    every : int
        Measure only at steps that are multiples of ``every`` (other calls return ``{}``); 1 = every call. The
        runner's evaluation schedule already thins the calls: leave it at 1 there.
    patch_steps : iterable of int
        Steps at which ``record`` also runs the patch search on ``inputs`` (e.g. ``(0, last_step)``);
        :meth:`find_patches` runs it on demand.
    distinct_images, chunk_bytes, device
        Of the patch search (:func:`~freqlens.lab.monitors.patches.best_patches`); ``device`` defaults to the
        layer's. It runs in the layer's dtype when that is float64, else float32.
    name : str
        The monitor's name in a run (``"kernels"``).

    Notes
    -----
    Each kernel's power ``P(f) = sum_c |K̂_c(f)|²`` on the grid (:func:`freqlens.conv.frequency_response` per
    input channel), then per kernel

    - the band shares ``s_b = sum_{f in band b} P(f) / sum_f P(f)`` (they sum to 1);
    - the radial centroid ``rho_bar = sum_f |f| P(f) / sum_f P(f)`` (cycles per pixel);
    - the low share: energy at ``|f| < 0.25`` (half of Nyquist) over the total;

    and over the layer the relative drift ``||W_t − W_0||_F / ||W_0||_F`` from the first record (the shares are
    blind to the kernels' scale; the drift says how far training moved them), and the spectrum of what training
    added, the update ``ΔW = W_t − W_0``: its band shares and centroid *pooled* over the kernels (``P_ΔW`` summed
    over the kernels first, so the kernels that moved most weigh most). NaN at the first record (no update yet).

    ``record(step, outputs, loss=None)`` returns, keyed by :attr:`axes`: ``"kernel_band_energy"`` (mean share
    per band over the kernels), ``"kernel_update_band_energy"`` (pooled shares of ``ΔW``), ``"kernel_centroid"``
    (``[mean, std]`` over the kernels, then the pooled centroid of ``ΔW``) and ``"kernel_drift"``.
    ``source`` is ``"train"`` to fit the runner; the outputs themselves are ignored.
    """

    arrays_file = "kernels.npz"
    source = "train"

    def __init__(self, model_or_layer: nn.Module | Callable[[], nn.Conv2d], *, inputs: Any = None,
                 n_bands: int = 4, grid: int = 32, exclude_dc: bool = False, n_kernels_shown: int = 8,
                 top_patches: int = 8, every: int = 1, patch_steps: Iterable[int] = (),
                 distinct_images: bool = True, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                 device: str | torch.device | None = None, name: str = "kernels"):
        if isinstance(model_or_layer, nn.Module):
            layer = first_conv(model_or_layer)
            self._get: Callable[[], nn.Conv2d] = lambda: layer
        elif callable(model_or_layer):
            self._get = model_or_layer
        else:
            raise TypeError(f"model_or_layer must be an nn.Module or a function returning an nn.Conv2d; got "
                            f"{type(model_or_layer).__name__}")
        layer = self._layer()
        self.name = str(name)
        self.n_bands = _positive(n_bands, "n_bands")
        self.grid = _positive(grid, "grid")
        self.kernel_shape = tuple(int(s) for s in layer.weight.shape)
        if self.grid < max(self.kernel_shape[2:]):
            raise ConfigError(f"grid must be at least the kernel size {max(self.kernel_shape[2:])}; got {grid}")
        if self.n_bands > self.grid // 2:
            raise ConfigError(f"n_bands must be at most grid // 2 = {self.grid // 2}; got {n_bands}")
        self.band_edges, self.band_centres = radial_bands(self.n_bands)
        self.exclude_dc = bool(exclude_dc)
        self.n_kernels_shown = _positive(n_kernels_shown, "n_kernels_shown")
        self.top_patches = _positive(top_patches, "top_patches")
        self.every = _positive(every, "every")
        self.patch_steps = sorted({int(s) for s in patch_steps})
        self.distinct_images, self.chunk_bytes, self.device = bool(distinct_images), int(chunk_bytes), device
        self.inputs = None if inputs is None else self._check_inputs(inputs, layer)
        if self.patch_steps and self.inputs is None:
            raise ConfigError("patch_steps needs inputs (the training images to search)")
        self.steps: list[int] = []
        self.losses: list[float] = []
        self._kernels: list[np.ndarray] = []
        self._shares: list[np.ndarray] = []
        self._centroid: list[np.ndarray] = []
        self._low: list[np.ndarray] = []
        self._norm: list[np.ndarray] = []
        self._drift: list[float] = []
        self._upd_shares: list[np.ndarray] = []
        self._upd_centroid: list[float] = []
        self._patches: dict[int, PatchMatches] = {}

    # -- the layer -----------------------------------------------------------------------------------------
    def _layer(self) -> nn.Conv2d:
        layer = self._get()
        if not isinstance(layer, nn.Conv2d):
            raise ConfigError(f"the layer getter must return an nn.Conv2d; got {type(layer).__name__}")
        return layer

    def _check_inputs(self, inputs: Any, layer: nn.Conv2d) -> Any:
        x = inputs if is_torch(inputs) else np.asarray(inputs)
        if x.ndim != 4 or x.shape[0] < 1:
            raise ConfigError(f"inputs must be training images (N, C, H, W); got shape {tuple(x.shape)}")
        if layer.groups != 1:
            raise ConfigError(f"the patch search needs a convolution with groups=1; the layer has {layer.groups}")
        if x.shape[1] != layer.in_channels:
            raise ConfigError(f"inputs have {x.shape[1]} channel(s), the layer takes {layer.in_channels}")
        ext = [(k - 1) * d + 1 for k, d in zip(layer.kernel_size, layer.dilation)]
        if ext[0] > x.shape[2] or ext[1] > x.shape[3]:
            raise ConfigError(f"inputs of {x.shape[2]}x{x.shape[3]} pixels are smaller than the kernel's extent "
                              f"{ext[0]}x{ext[1]}")
        return x

    def _weights(self) -> np.ndarray:
        w = self._layer().weight.detach().to("cpu", torch.float64).numpy().copy()
        if w.shape != self.kernel_shape:
            raise ValueError(f"the layer's weight is {w.shape} now, the monitor was built for {self.kernel_shape}")
        return w

    # -- recording -----------------------------------------------------------------------------------------
    @property
    def axes(self) -> dict[str, tuple[str, list]]:
        """Band shares (of the kernels, and of the update ``W_t − W_0``) by band centre in cycles per pixel (the
        last is the corner band); the centroid's mean and std over the kernels and the update's; the drift."""
        bands = [round(float(c), 6) for c in self.band_centres]
        return {"kernel_band_energy": ("band", bands),
                "kernel_update_band_energy": ("band", list(bands)),
                "kernel_centroid": ("stat", ["mean", "std", "update"]),
                "kernel_drift": ("stat", ["relative"])}

    def record(self, step: int, outputs: Any = None, loss: float | None = None) -> dict[str, np.ndarray]:
        """Measure the layer's kernels now (``outputs`` is ignored: the monitor reads the model it holds)."""
        step = int(step)
        if step % self.every and step not in self.patch_steps:
            return {}
        w = self._weights()
        power = kernel_power(w, self.grid)
        shares = band_shares(power, self.n_bands, exclude_dc=self.exclude_dc)
        centroid = radial_centroid(power, exclude_dc=self.exclude_dc)
        w32 = w.astype(np.float32)
        w0 = (self._kernels[0] if self._kernels else w32).astype(np.float64)
        norm0 = float(np.linalg.norm(w0))
        update = w32.astype(np.float64) - w0
        drift = float(np.linalg.norm(update)) / norm0 if norm0 > 0 else float("nan")
        pooled = kernel_power(update, self.grid).sum(axis=0, keepdims=True)
        upd_shares = band_shares(pooled, self.n_bands, exclude_dc=self.exclude_dc)[0]
        upd_centroid = float(radial_centroid(pooled, exclude_dc=self.exclude_dc)[0])
        self.steps.append(step)
        self.losses.append(float("nan") if loss is None else float(loss))
        self._kernels.append(w32)
        self._shares.append(shares)
        self._centroid.append(centroid)
        self._low.append(low_share(power, exclude_dc=self.exclude_dc))
        self._norm.append(np.linalg.norm(w.reshape(w.shape[0], -1), axis=1))
        self._drift.append(drift)
        self._upd_shares.append(upd_shares)
        self._upd_centroid.append(upd_centroid)
        if step in self.patch_steps:
            self.find_patches()
        with np.errstate(invalid="ignore"):
            return {"kernel_band_energy": np.nanmean(shares, axis=0),
                    "kernel_update_band_energy": upd_shares,
                    "kernel_centroid": np.array([np.nanmean(centroid), np.nanstd(centroid), upd_centroid]),
                    "kernel_drift": np.array([drift])}

    def find_patches(self, images: Any = None) -> PatchMatches:
        """Search ``images`` (default: ``inputs``) for the best patches of the kernels of the last record (as
        recorded, float32); kept (under that record's step) for :meth:`state_dict` when searching ``inputs``."""
        if not self.steps:
            raise ValueError("no kernels recorded yet: call record() first")
        x = self.inputs if images is None else self._check_inputs(images, self._layer())
        if x is None:
            raise ValueError("no images to search: pass inputs= to the monitor or images= here")
        layer = self._layer()
        device = self.device if self.device is not None else layer.weight.device
        dtype = torch.float64 if layer.weight.dtype == torch.float64 else torch.float32
        found = best_patches(x, self._kernels[-1], self.top_patches, stride=layer.stride, dilation=layer.dilation,
                             distinct_images=self.distinct_images, chunk_bytes=self.chunk_bytes, device=device,
                             dtype=dtype)
        if images is None:
            self._patches[self.steps[-1]] = found
        return found

    def truncate(self, last_step: int) -> None:
        """Forget records (and patch searches) after ``last_step``."""
        keep = sum(1 for s in self.steps if s <= last_step)
        for lst in (self.steps, self.losses, self._kernels, self._shares, self._centroid, self._low, self._norm,
                    self._drift, self._upd_shares, self._upd_centroid):
            del lst[keep:]
        self._patches = {s: m for s, m in self._patches.items() if s <= last_step}

    # -- results -------------------------------------------------------------------------------------------
    @property
    def kernels(self) -> np.ndarray:
        """Recorded kernels, ``(records, O, C, kh, kw)`` float32."""
        return np.asarray(self._kernels, dtype=np.float32).reshape(len(self._kernels), *self.kernel_shape)

    @property
    def shares(self) -> np.ndarray:
        """Band shares per record and kernel, ``(records, O, n_bands + 1)``."""
        return np.asarray(self._shares).reshape(len(self._shares), self.kernel_shape[0], self.n_bands + 1)

    def shown(self) -> np.ndarray:
        """The kernels the figures show: :attr:`n_kernels_shown` spread over the last record's centroid ranking."""
        if not self._centroid:
            return np.zeros(0, dtype=np.int64)
        return spread_kernels(self._centroid[-1], self.n_kernels_shown)

    def summaries(self) -> dict[str, dict[Any, float | None]]:
        """Mean low share (energy below 0.25 cycles per pixel) and mean centroid at the first and last record, the
        pooled centroid of the last update ``W_t − W_0``, and the last drift (None before any record)."""
        if not self.steps:
            return {"kernel_low_share": {"start": None, "end": None},
                    "kernel_centroid": {"start": None, "end": None, "update": None}, "kernel_drift": {"end": None}}
        with np.errstate(invalid="ignore"):
            low = [float(np.nanmean(self._low[i])) for i in (0, -1)]
            cen = [float(np.nanmean(self._centroid[i])) for i in (0, -1)]
        return {"kernel_low_share": {"start": low[0], "end": low[1]},
                "kernel_centroid": {"start": cen[0], "end": cen[1], "update": self._upd_centroid[-1]},
                "kernel_drift": {"end": self._drift[-1]}}

    # -- persistence ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Every record as arrays (``kernels`` float32; the power at the first and last record for drawing the
        responses; the patch searches stacked by step)."""
        o, c, kh, kw = self.kernel_shape
        g, r = self.grid, len(self.steps)
        if r:
            first_last = tuple(kernel_power(self._kernels[i], g).astype(np.float32) for i in (0, -1))
        else:
            first_last = (np.zeros((0, g, g), np.float32),) * 2
        ps = sorted(self._patches)
        pm = [self._patches[s] for s in ps]
        k = pm[0].scores.shape[1] if pm else self.top_patches  # fewer than top_patches when inputs are fewer

        def stack(attr: str, shape: tuple, dtype: Any) -> np.ndarray:
            return np.asarray([getattr(m, attr) for m in pm], dtype=dtype).reshape(len(pm), *shape)

        return {"steps": np.asarray(self.steps, dtype=np.int64), "loss": np.asarray(self.losses, dtype=np.float64),
                "kernels": self.kernels, "band_shares": self.shares,
                "centroid": np.asarray(self._centroid).reshape(r, o), "low_share": np.asarray(self._low).reshape(r, o),
                "norm": np.asarray(self._norm).reshape(r, o), "drift": np.asarray(self._drift, dtype=np.float64),
                "update_shares": np.asarray(self._upd_shares, dtype=np.float64).reshape(r, self.n_bands + 1),
                "update_centroid": np.asarray(self._upd_centroid, dtype=np.float64),
                "band_edges": self.band_edges, "band_centres": self.band_centres,
                "grid": np.asarray(g, dtype=np.int64), "n_bands": np.asarray(self.n_bands, dtype=np.int64),
                "exclude_dc": np.asarray(self.exclude_dc), "power_first": first_last[0], "power_last": first_last[1],
                "shown": self.shown(), "patch_steps": np.asarray(ps, dtype=np.int64),
                "patch_scores": stack("scores", (o, k), np.float64) if pm else np.zeros((0, o, k)),
                "patch_image": stack("image", (o, k), np.int64) if pm else np.zeros((0, o, k), np.int64),
                "patch_row": stack("row", (o, k), np.int64) if pm else np.zeros((0, o, k), np.int64),
                "patch_col": stack("col", (o, k), np.int64) if pm else np.zeros((0, o, k), np.int64),
                "patches": stack("patches", (o, k, c, kh, kw), np.float32) if pm
                else np.zeros((0, o, k, c, kh, kw), np.float32)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict`; ``ValueError`` when it was recorded with another grid, bands, DC choice,
        kernel shape or number of patches."""
        setting = (int(state["grid"]), int(state["n_bands"]), bool(state["exclude_dc"]))
        if setting != (self.grid, self.n_bands, self.exclude_dc):
            raise ValueError(f"saved kernel monitor used grid, n_bands, exclude_dc = {setting}; this one "
                             f"{(self.grid, self.n_bands, self.exclude_dc)}")
        kernels = np.asarray(state["kernels"], dtype=np.float32)
        if kernels.shape[1:] != self.kernel_shape:
            raise ValueError(f"saved kernels have shape {kernels.shape[1:]}, the layer {self.kernel_shape}")
        if len(state["patch_steps"]) and np.shape(state["patch_scores"])[2] > self.top_patches:
            raise ValueError(f"saved patch searches kept {np.shape(state['patch_scores'])[2]} patches per kernel, "
                             f"this monitor keeps top_patches={self.top_patches}")
        self.steps = [int(s) for s in state["steps"]]
        self.losses = [float(v) for v in state["loss"]]
        self._kernels = list(kernels)
        self._shares = list(np.asarray(state["band_shares"], dtype=np.float64))
        self._centroid = list(np.asarray(state["centroid"], dtype=np.float64))
        self._low = list(np.asarray(state["low_share"], dtype=np.float64))
        self._norm = list(np.asarray(state["norm"], dtype=np.float64))
        self._drift = [float(v) for v in state["drift"]]
        self._upd_shares = list(np.asarray(state["update_shares"], dtype=np.float64))
        self._upd_centroid = [float(v) for v in state["update_centroid"]]
        self._patches = {int(s): PatchMatches(scores=np.asarray(state["patch_scores"][i]),
                                              image=np.asarray(state["patch_image"][i]),
                                              row=np.asarray(state["patch_row"][i]),
                                              col=np.asarray(state["patch_col"][i]),
                                              patches=np.asarray(state["patches"][i]))
                         for i, s in enumerate(state["patch_steps"])}

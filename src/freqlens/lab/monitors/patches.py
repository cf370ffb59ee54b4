"""Convolution as a pattern matcher: the training patches whose shape is closest to each kernel.

A convolution layer's (pre-bias) output at a position is the dot product of its kernel with the input patch there.
Divided by both norms it is the cosine of the angle between patch and kernel: 1 when the patch is the kernel up
to a positive factor. :func:`best_patches` scans every patch of a set of images (in chunks of bounded memory) and
keeps, for each kernel, the patches of highest cosine.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> images = rng.standard_normal((50, 1, 8, 8))
>>> kernel = images[17, :, 2:5, 4:7][None]              # cut from image 17 at row 2, column 4
>>> m = best_patches(images, kernel, k=2)
>>> int(m.image[0, 0]), int(m.row[0, 0]), int(m.col[0, 0]), round(float(m.scores[0, 0]), 6)
(17, 2, 4, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from freqlens import _memory
from freqlens._arrays import is_torch
from freqlens.conv import correlate
from freqlens.lab.monitors.kernel_spectra import as_kernels

__all__ = ["METHODS", "PatchMatches", "best_patches", "patch_cosine"]

METHODS = ("conv2d", "correlate")
DEFAULT_CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class PatchMatches:
    """The best-matching patches of each kernel, best first.

    Attributes
    ----------
    scores : ndarray of float64, shape (n_kernels, k)
        Cosine similarity of patch and kernel, in [-1, 1], decreasing along each row.
    image, row, col : ndarray of int64, shape (n_kernels, k)
        Where each patch is: image index, and its top-left pixel in that image.
    patches : ndarray of float32, shape (n_kernels, k, C, kh, kw)
        The patches themselves (the taps the kernel sees: every ``dilation``-th pixel).
    """

    scores: np.ndarray
    image: np.ndarray
    row: np.ndarray
    col: np.ndarray
    patches: np.ndarray


def _pair(value: Any, name: str) -> tuple[int, int]:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(vals) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in vals):
        raise ValueError(f"{name} must be a positive integer or a pair of them; got {value!r}")
    return int(vals[0]), int(vals[1])


def _as_images(images: Any, channels: int) -> Any:
    """A 4-D float tensor or array ``(N, C, H, W)`` (3-D is read as one channel); not copied."""
    x = images
    if not is_torch(x):
        x = np.asarray(x)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
            raise TypeError(f"images must be a real numeric array or tensor; got dtype {x.dtype}")
    elif x.is_complex():
        raise TypeError(f"images must be real; got {x.dtype}")
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"images must have shape (N, C, H, W) (or (N, H, W) for one channel), N >= 1; "
                         f"got {tuple(images.shape)}")
    if x.shape[1] != channels:
        raise ValueError(f"images have {x.shape[1]} channel(s) but the kernels expect {channels}")
    return x


def _chunk_tensor(x: Any, start: int, stop: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    part = x[start:stop]
    part = part.to(device=device, dtype=dtype) if is_torch(part) else torch.as_tensor(part, dtype=dtype,
                                                                                       device=device)
    if not bool(torch.isfinite(part).all()):
        bad = start + int((~torch.isfinite(part)).flatten(1).any(dim=1).nonzero()[0, 0])
        raise ValueError(f"images contain NaN or inf (image {bad})")
    return part


def _maps_conv2d(x: torch.Tensor, w: torch.Tensor, stride: tuple[int, int],
                 dilation: tuple[int, int]) -> torch.Tensor:
    """``dot(patch, w) / |patch|`` maps ``(B, O, H', W')``: one ``conv2d`` for the dot products, one of the squares
    with a kernel of ones for the patch norms (0 where the patch is zero)."""
    dots = F.conv2d(x, w, stride=stride, dilation=dilation)
    ones = torch.ones((1, *w.shape[1:]), dtype=x.dtype, device=x.device)
    sq = F.conv2d(x * x, ones, stride=stride, dilation=dilation)
    return dots.mul_(torch.where(sq > 0, sq.rsqrt(), 0.0))


def _maps_correlate(x: np.ndarray, w: np.ndarray, stride: tuple[int, int],
                    dilation: tuple[int, int]) -> np.ndarray:
    """The same maps with :func:`freqlens.conv.correlate` (numpy engines), one kernel at a time: correlating the
    ``(B, C, H, W)`` stack with a ``(C, kh, kw)`` kernel over axes 1-3 sums over the channels."""
    opts = dict(mode="valid", axes=(1, 2, 3), stride=(1, *stride), dilation=(1, *dilation))
    sq = correlate(x * x, np.ones(w.shape[1:]), **opts)
    dots = np.concatenate([correlate(x, w[o], **opts) for o in range(w.shape[0])], axis=1)
    with np.errstate(divide="ignore"):
        return dots * np.where(sq > 0, 1.0 / np.sqrt(np.where(sq > 0, sq, 1.0)), 0.0)


def _inverse_norms(w: np.ndarray, device: torch.device) -> torch.Tensor:
    """``1 / |w_o|`` per kernel (float64), 0 for a zero kernel (whose scores are then 0)."""
    n = np.linalg.norm(w.reshape(w.shape[0], -1), axis=1)
    return torch.as_tensor(np.where(n > 0, 1.0 / np.where(n > 0, n, 1.0), 0.0), device=device)


def _plan(x: Any, w: np.ndarray, stride: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(H', W', extent_h, extent_w)``: the number of patch positions and the patch extent on the image."""
    ext = tuple((k - 1) * d + 1 for k, d in zip(w.shape[2:], dilation))
    h, wd = x.shape[2], x.shape[3]
    if ext[0] > h or ext[1] > wd:
        raise ValueError(f"the kernel's extent {ext[0]}x{ext[1]} (size {w.shape[2]}x{w.shape[3]}, dilation "
                         f"{dilation}) is larger than the images ({h}x{wd})")
    return (h - ext[0]) // stride[0] + 1, (wd - ext[1]) // stride[1] + 1, ext[0], ext[1]


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _chunk_size(x: Any, n_kernels: int, positions: int, itemsize: int, method: str, chunk_bytes: int) -> int:
    """Images per chunk so that a chunk's temporaries stay within ``chunk_bytes`` (and the available memory)."""
    pixels = int(np.prod(x.shape[1:]))
    copies = 4 if method == "correlate" else 2  # the chunk, its squares (+ engine copies for correlate)
    per_image = (copies * pixels + 3 * n_kernels * positions + 2 * positions) * itemsize
    avail = _memory.available_memory()
    budget = min(int(chunk_bytes), avail // 2)
    if per_image > budget:
        raise ValueError(f"one image's patch scores need {_size(per_image)} but the chunk budget is "
                         f"{_size(budget)} (chunk_bytes={chunk_bytes:,}, {_size(avail)} available); raise "
                         "chunk_bytes or use fewer kernels")
    return max(1, budget // per_image)


def _scaled_maps(x: Any, w: np.ndarray, start: int, stop: int, *, method: str, stride: tuple[int, int],
                 dilation: tuple[int, int], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``dot(patch, w_o) / |patch|`` for the images ``start:stop``: the cosine times ``|w_o|``. The division by
    ``|w_o|`` (positive, per kernel) is left for after the ranking, which it does not change."""
    if method == "conv2d":
        part = _chunk_tensor(x, start, stop, device, dtype)
        return _maps_conv2d(part, torch.as_tensor(w, dtype=dtype, device=device), stride, dilation)
    part = _chunk_tensor(x, start, stop, torch.device("cpu"), torch.float64).numpy()
    return torch.as_tensor(_maps_correlate(part, w, stride, dilation), device=device)


def _check(images: Any, kernels: Any, method: str, stride: Any, dilation: Any, chunk_bytes: Any, device: Any,
           dtype: Any) -> tuple[Any, np.ndarray, tuple[int, int], tuple[int, int], torch.device, torch.dtype]:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, (int, np.integer)) or chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be a positive integer; got {chunk_bytes!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch dtype; got {dtype!r}")
    w = as_kernels(kernels)
    x = _as_images(images, w.shape[1])
    if device is None:
        device = x.device if is_torch(x) else torch.device("cpu")
    if method == "correlate":
        dtype = torch.float64
    return x, w, _pair(stride, "stride"), _pair(dilation, "dilation"), torch.device(device), dtype


def patch_cosine(images: Any, kernels: Any, *, stride: Any = 1, dilation: Any = 1, method: str = "conv2d",
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES, device: str | torch.device | None = None,
                 dtype: torch.dtype = torch.float32) -> np.ndarray:
    """Cosine similarity between every kernel and every patch of every image (the full maps; for small inputs).

    Parameters
    ----------
    images : array_like or Tensor, shape (N, C, H, W)
        ``(N, H, W)`` is read as one channel.
    kernels : array_like or Tensor, shape (O, C, kh, kw)
        E.g. a ``Conv2d`` weight.
    stride, dilation : int or (int, int)
        Of the layer: patches start every ``stride`` pixels and take every ``dilation``-th pixel. Padding is not
        applied (only patches inside the image).
    method : {"conv2d", "correlate"}
        ``"conv2d"``: :func:`torch.nn.functional.conv2d` of the images with the kernels and of their squares
        with a kernel of ones, on ``device`` in ``dtype``. ``"correlate"``: :func:`freqlens.conv.correlate`
        over the channel and both image axes, one kernel at a time, float64 on the CPU.
    chunk_bytes : int
        Memory budget of one chunk of images (also capped at half the available memory).
    device, dtype
        Where and in which precision ``"conv2d"`` computes (default: the images' device, float32).

    Returns
    -------
    ndarray of float64, shape (N, O, H', W')
        ``H' = (H - (kh - 1) * dilation - 1) // stride + 1``, likewise ``W'``.

    Notes
    -----
    For the patch ``p`` (all ``C·kh·kw`` values) at a position and the kernel ``w``,

    .. math:: \\cos(p, w) = \\frac{\\sum p\\, w}{\\lVert p\\rVert\\, \\lVert w\\rVert}

    with raw values (no mean subtracted: the layer's own dot product, so a constant patch can match a kernel
    whose weights share a sign). A zero patch or a zero kernel scores 0; results are clipped to [-1, 1]
    (rounding). For one channel this is :func:`freqlens.conv.match_template` with ``centered=False``.
    """
    x, w, st, dl, dev, dt = _check(images, kernels, method, stride, dilation, chunk_bytes, device, dtype)
    ho, wo, _, _ = _plan(x, w, st, dl)
    itemsize = torch.empty((), dtype=dt).element_size()
    need, avail = x.shape[0] * w.shape[0] * ho * wo * 8, _memory.available_memory()
    if need > avail // 2:
        raise ValueError(f"the full cosine maps need {_size(need)} ({_size(avail)} available); "
                         "use best_patches, which keeps only the best matches")
    chunk = _chunk_size(x, w.shape[0], ho * wo, itemsize, method, chunk_bytes)
    out = np.empty((x.shape[0], w.shape[0], ho, wo))
    inv_norm = _inverse_norms(w, dev)
    for start in range(0, x.shape[0], chunk):
        stop = min(start + chunk, x.shape[0])
        maps = _scaled_maps(x, w, start, stop, method=method, stride=st, dilation=dl, device=dev, dtype=dt)
        out[start:stop] = maps.double().cpu().numpy()
    return np.clip(out * inv_norm.cpu().numpy()[None, :, None, None], -1.0, 1.0)


def best_patches(images: Any, kernels: Any, k: int = 8, *, stride: Any = 1, dilation: Any = 1,
                 distinct_images: bool = True, method: str = "conv2d", chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                 device: str | torch.device | None = None, dtype: torch.dtype = torch.float32) -> PatchMatches:
    """The ``k`` patches of highest cosine similarity with each kernel, over all patches of ``images``.

    Parameters
    ----------
    images, kernels, stride, dilation, method, device, dtype
        As in :func:`patch_cosine` (whose scores are ranked here).
    k : int
        Matches per kernel (fewer when there are fewer candidates).
    distinct_images : bool
        True (default): at most one patch per image and kernel (the image's best), so the matches are not k
        shifts of the same stroke. False: every position competes.
    chunk_bytes : int
        Memory budget of one chunk (default 256 MiB, capped at half the available memory): the scores of a chunk
        of images are computed, reduced to the running best ``k`` per kernel and dropped. A whole MNIST training
        set (60,000 images) goes through in a few hundred chunks.

    Returns
    -------
    PatchMatches
        ``scores``, ``image``, ``row``, ``col`` (top-left pixel), ``patches``; best first.

    Notes
    -----
    Cosine as in :func:`patch_cosine`. Ranking: decreasing score; with ``distinct_images`` equal scores are
    ordered by image, and within an image the first position in row-major order wins, so the result does not
    depend on the chunk size. With ``distinct_images=False`` ties at the k-th place may be broken either way.
    """
    x, w, st, dl, dev, dt = _check(images, kernels, method, stride, dilation, chunk_bytes, device, dtype)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    ho, wo, _, _ = _plan(x, w, st, dl)
    n, n_k, positions = x.shape[0], w.shape[0], ho * wo
    k = int(min(k, n if distinct_images else n * positions))
    chunk = _chunk_size(x, n_k, positions, torch.empty((), dtype=dt).element_size(), method, chunk_bytes)
    keep = n_k * k * (3 * (8 + 8) + 4 * int(np.prod(w.shape[1:])))  # running best (with merge copies), patches
    if keep > _memory.available_memory() // 2:
        raise ValueError(f"keeping k={k:,} patches for {n_k} kernels needs {_size(keep)} "
                         f"({_size(_memory.available_memory())} available); use a smaller k")
    inv_norm = _inverse_norms(w, dev)[:, None]
    best_s = torch.empty((n_k, 0), dtype=torch.float64, device=dev)
    best_i = torch.empty((n_k, 0), dtype=torch.int64, device=dev)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        maps = _scaled_maps(x, w, start, stop, method=method, stride=st, dilation=dl, device=dev, dtype=dt)
        flat = maps.reshape(stop - start, n_k, positions)
        if distinct_images:  # each image's best position (first in row-major order on ties)
            val, pos = flat.max(dim=2)
            cand_s = val.T
            cand_i = (torch.arange(start, stop, device=dev)[None, :] * positions + pos.T)
        else:
            per_kernel = flat.permute(1, 0, 2).reshape(n_k, -1)
            cand_s, idx = per_kernel.topk(min(k, per_kernel.shape[1]), dim=1)
            cand_i = start * positions + idx
        cand_s = (cand_s.double() * inv_norm).clamp_(-1.0, 1.0)
        # earlier candidates first, stable sort: ties keep the lower index
        s, i = torch.cat([best_s, cand_s], dim=1), torch.cat([best_i, cand_i], dim=1)
        order = torch.sort(s, dim=1, descending=True, stable=True).indices[:, :k]
        best_s, best_i = s.gather(1, order), i.gather(1, order)
    lin = best_i.cpu().numpy()
    img, pos = lin // positions, lin % positions
    row, col = (pos // wo) * st[0], (pos % wo) * st[1]
    kh, kw = w.shape[2:]
    patches = np.empty((n_k, k, w.shape[1], kh, kw), dtype=np.float32)
    for o in range(n_k):
        for j in range(k):
            r, c = int(row[o, j]), int(col[o, j])
            patch = x[int(img[o, j]), :, r:r + (kh - 1) * dl[0] + 1:dl[0], c:c + (kw - 1) * dl[1] + 1:dl[1]]
            patches[o, j] = patch.detach().cpu().numpy() if is_torch(patch) else np.asarray(patch)
    return PatchMatches(scores=best_s.cpu().numpy(), image=img.astype(np.int64), row=row.astype(np.int64),
                        col=col.astype(np.int64), patches=patches)

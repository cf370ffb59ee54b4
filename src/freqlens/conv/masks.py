"""Image filters in the frequency domain: a radial transfer function multiplied onto the image's DFT.

:func:`frequency_filter` multiplies an image's DFT by a radial transfer function :func:`frequency_mask`
(ideal, Gaussian or Butterworth; low, high, band or stop) with cutoffs in cycles per pixel.

The frequency grid is :func:`freqlens.spectrum.radial_frequency` (cycles per pixel), the convention of
:mod:`freqlens.spectrum`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft

from freqlens.conv._filter_args import as_signal, band_name, cutoffs, order_arg
from freqlens.errors import FreqlensError
from freqlens.spectrum import radial_frequency

__all__ = ["MASK_KINDS", "frequency_filter", "frequency_mask"]

#: Transfer-function shapes of the image filters.
MASK_KINDS = ("ideal", "gaussian", "butterworth")


def _lowpass_gain(rho: np.ndarray, fc: float, kind: str, order: int) -> np.ndarray:
    if kind == "ideal":
        return (rho <= fc).astype(float)
    # Overflow to inf is the exact limit in both formulas below (exp(-inf) = 0, 1 / sqrt(inf) = 0): high orders and
    # tiny cutoffs give the ideal mask's zeros, without numpy's warning.
    with np.errstate(over="ignore"):
        if kind == "gaussian":
            return np.exp(-0.5 * (rho / fc) ** 2)
        return 1.0 / np.sqrt(1.0 + (rho / fc) ** (2 * order))


def _mask_on(rho: np.ndarray, kind: str, band: str, cut: tuple[float, ...], order: int) -> np.ndarray:
    if band == "low":
        return _lowpass_gain(rho, cut[0], kind, order)
    if band == "high":
        return 1.0 - _lowpass_gain(rho, cut[0], kind, order)
    if kind == "ideal":
        inside = ((rho >= cut[0]) & (rho <= cut[1])).astype(float)
    else:
        inside = _lowpass_gain(rho, cut[1], kind, order) * (1.0 - _lowpass_gain(rho, cut[0], kind, order))
    return inside if band == "band" else 1.0 - inside


def _mask_args(kind: str, band: str, cutoff: Any, order: int) -> tuple[str, str, tuple[float, ...], int]:
    if kind not in MASK_KINDS:
        raise FreqlensError(f"kind must be one of {MASK_KINDS}, got {kind!r}")
    b = band_name(band)
    cut = cutoffs(b, cutoff, 0.5 + 1e-12, "cycles per pixel", what="0.5]")
    return kind, b, cut, order_arg(order)


def frequency_mask(
    shape: tuple[int, int],
    *,
    kind: str = "gaussian",
    band: str = "low",
    cutoff: Any,
    order: int = 2,
    centred: bool = True,
) -> np.ndarray:
    """The radial transfer function ``H(rho)`` of :func:`frequency_filter` on a ``shape`` DFT grid.

    Parameters
    ----------
    shape : (H, W)
        Grid size.
    kind : {"gaussian", "ideal", "butterworth"}
        Shape of the transition.
    band : {"low", "high", "band", "stop"}
        Which frequencies are kept.
    cutoff : float or (float, float)
        Radial frequency in cycles per pixel, in ``(0, 0.5]``; a pair ``(low, high)`` for band/stop.
    order : int
        Butterworth order (>= 1; ignored by the other kinds).
    centred : bool
        Lay the mask out like ``fftshift`` (DC in the middle) rather than like ``fft2``'s output.

    Notes
    -----
    With :math:`\\rho = \\sqrt{f_y^2 + f_x^2}` and the low-pass :math:`L` of cutoff :math:`f_c`:

    - ideal: :math:`L = [\\rho \\le f_c]`;
    - gaussian: :math:`L = e^{-\\rho^2 / (2 f_c^2)}` (:math:`e^{-1/2} \\approx 0.61` at the cutoff, as in
      Gonzalez & Woods);
    - butterworth: :math:`L = 1 / \\sqrt{1 + (\\rho / f_c)^{2n}}` (:math:`1/\\sqrt{2}`, -3 dB at the cutoff;
      Gonzalez & Woods use :math:`1 / (1 + (\\rho/f_c)^{2n})`, 0.5 at the cutoff).

    High-pass :math:`1 - L`; band-pass :math:`L_{high} (1 - L_{low})` (ideal: :math:`[f_{low} \\le \\rho \\le
    f_{high}]`); band-stop :math:`1 -` band-pass.

    Examples
    --------
    >>> np.round(frequency_mask((1, 8), kind="ideal", cutoff=0.2)[0], 1)  # fx = -0.5 ... 0.375
    array([0., 0., 0., 1., 1., 1., 0., 0.])
    """
    if len(shape) != 2 or any(isinstance(n, bool) or int(n) != n or n < 1 for n in shape):
        raise FreqlensError(f"shape must be two positive integers, got {shape!r}")
    kind, b, cut, n = _mask_args(kind, band, cutoff, order)
    rho = radial_frequency((int(shape[0]), int(shape[1])), centred=centred)
    return _mask_on(rho, kind, b, cut, n)


_PAD_MODES = {"wrap": None, "symmetric": "symmetric", "reflect": "reflect", "edge": "edge", "zero": "constant"}


def frequency_filter(
    image: Any,
    *,
    kind: str = "gaussian",
    band: str = "low",
    cutoff: Any,
    order: int = 2,
    boundary: str = "wrap",
    channel_axis: int | None = None,
) -> Any:
    """Filter an image in the frequency domain: ``IDFT(DFT(image) * H)`` with ``H`` from :func:`frequency_mask`.

    Parameters
    ----------
    image : array_like or torch.Tensor, shape (H, W), or with a channel axis
        Real image; numpy in, numpy out (float32 kept), torch in, torch out.
    kind, band, cutoff, order
        See :func:`frequency_mask`; cutoffs in cycles per pixel.
    boundary : {"wrap", "symmetric", "reflect", "edge", "zero"}
        How the image is extended before the DFT (by half its size on each side, then cropped back).
        ``"wrap"`` (default) uses the image as it is: the DFT treats it as periodic, exactly (``abcd|abcd``).
        The others use :func:`numpy.pad`'s modes: ``"symmetric"`` ``dcba|abcd``, ``"reflect"`` ``dcb|abcd``,
        ``"edge"`` ``aaaa|abcd``, ``"zero"`` ``0000|abcd``; they avoid mixing the opposite borders.
    channel_axis : int, optional
        Axis of colour channels, filtered independently. ``None``: the image must be 2-D.

    Notes
    -----
    .. math:: g = \\mathcal{F}^{-1}\\{ H(\\rho) \\cdot \\mathcal{F}\\{I\\} \\}

    computed with :func:`scipy.fft.rfft2` / ``irfft2``. ``H`` is real and radially symmetric, so the result is
    real and not shifted. A tone of radial frequency :math:`\\rho` (whole periods across the image) comes out
    multiplied by exactly :math:`H(\\rho)` with ``boundary="wrap"``.

    Examples
    --------
    >>> y, x = np.mgrid[:32, :32]
    >>> low, high = np.cos(2 * np.pi * 2 * x / 32), np.cos(2 * np.pi * 12 * x / 32)
    >>> out = frequency_filter(low + high, kind="ideal", band="low", cutoff=0.2)
    >>> bool(np.allclose(out, low))
    True
    """
    kind, b, cut, n = _mask_args(kind, band, cutoff, order)
    if boundary not in _PAD_MODES:
        raise FreqlensError(f"boundary must be one of {tuple(_PAD_MODES)}, got {boundary!r}")
    arr, restore = as_signal(image, "image")
    if channel_axis is None:
        if arr.ndim != 2:
            raise FreqlensError(
                f"image must be 2-D, got shape {arr.shape}; pass channel_axis= for colour images"
            )
        img = arr[..., None]
    else:
        if arr.ndim != 3 or not -3 <= channel_axis < 3:
            raise FreqlensError(f"image with channel_axis={channel_axis} must be 3-D, got shape {arr.shape}")
        img = np.moveaxis(arr, channel_axis, -1)
    h, w = img.shape[:2]
    mode = _PAD_MODES[boundary]
    py, px = (h // 2, w // 2) if mode else (0, 0)
    if mode:
        img = np.pad(img, ((py, py), (px, px), (0, 0)), mode=mode)
    shape = img.shape[:2]
    # the rfft2 half-plane: columns 0 .. W // 2 of the uncentred grid (|f| is the same for the Nyquist column)
    rho = radial_frequency(shape, centred=False)[:, : shape[1] // 2 + 1]
    mask = _mask_on(rho, kind, b, cut, n)
    out = scipy.fft.irfft2(scipy.fft.rfft2(img, axes=(0, 1)) * mask[..., None], s=shape, axes=(0, 1))
    out = out[py : py + h, px : px + w]
    out = out[..., 0] if channel_axis is None else np.moveaxis(out, -1, channel_axis)
    return restore(out)

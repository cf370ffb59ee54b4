"""The exact Gaussian low/high split of functions sampled at scattered points in high dimension, at several scales.

For points ``x_1..x_n`` in R^d, a scale ``delta > 0`` and values ``v`` (one column or many):

    G_ij = exp(-|x_i - x_j|^2 / (2 delta))                (delta acts as a variance; squared distance)
    v_low_i  = sum_j G_ij v_j / sum_j G_ij                (a normalised Gaussian average)
    v_high_i = v_i - v_low_i

This is the *filtering method* of the Frequency Principle (Xu et al.): ``low`` keeps the part of ``v`` that varies
slowly over the data, ``high`` the rest. The module computes it exactly (every pair, no truncation) for several
``delta`` at once and for many columns at once, in blocks whose memory is bounded, on any torch device:
:class:`GaussianSplit` streams the kernel sums block of rows by block of rows; :func:`gaussian_split` returns the
split; :func:`gaussian_split_dense` is the plain float64 reference (``O(n^2)`` memory) the tests and benchmarks
compare against.

Why hand-written: no well-kept library does this reduction exactly at this size on a CPU without a compiler.
``scipy.spatial.distance.cdist`` materialises the n x n matrix (14 GB in float32 at full MNIST);
scikit-learn's ``KernelDensity`` / ``pairwise_kernels`` either approximate (tree tolerances), evaluate one scale at
a time or go dense; KeOps (``pykeops``) streams such sums but compiles CUDA/C++ at run time; FAISS finds neighbours,
not full Gaussian sums. What is needed here - every pair, several scales sharing one distance computation, many
value columns per pass, symmetric tiles used twice - is a few torch GEMMs in bounded blocks.

How the exact computation is organised (and why it is accurate in float32)
--------------------------------------------------------------------------
- **Off-diagonal form.** With ``K'`` the kernel without its diagonal (``G_ii = 1``), ``S'_i = sum_{j != i} G_ij``
  and ``(K'v)_i = sum_{j != i} G_ij v_j``::

      v_low_i  = (v_i + (K'v)_i) / (1 + S'_i)
      v_high_i = (v_i S'_i - (K'v)_i) / (1 + S'_i) = sum_{j != i} G_ij (v_i - v_j) / sum_j G_ij

  ``v_high`` is computed from the off-diagonal sums directly, not as ``v - v_low``: for a small ``delta`` the
  kernel is nearly the identity, ``v_low ~ v`` and the subtraction would cancel every significant digit.
- **Centred inputs.** Squared distances come from a Gram matrix, ``|x_i|^2 + |x_j|^2 - 2 x_i.x_j``; the inputs are
  centred (in float64) first, which leaves distances unchanged and shrinks the norms that the subtraction cancels.
- **One distance tile, every delta, every column.** For a tile of ``b_r`` rows by ``b_c`` columns the squared
  distances cost one GEMM (``2 b_r b_c d`` flops); each ``delta`` then costs one scaled ``exp`` of the tile (the
  tile stays in cache) and one GEMM with all the columns ``v`` at once (``2 b_r b_c W`` flops for ``W`` columns).
- **Two ways through the kernel.** :meth:`GaussianSplit.sums` uses the symmetry ``G_ij = G_ji``: each tile above
  the diagonal is computed once and applied twice (``A_I += G_IJ v_J``, ``A_J += G_IJ^T v_I``), so a pass costs
  ``n^2 d`` flops of distances and ``m n^2 / 2`` exponentials, with accumulators for every row (``m n W``
  numbers). :meth:`GaussianSplit.blocks` streams instead: a row block is complete after its sweep over the
  columns and is handed to the caller, who reduces it (norms) and drops it -- twice the distances and
  exponentials, memory ``O(n d + n W + m b_r W)``. Neither ever holds ``O(n^2)`` numbers.
- **Underflow.** ``exp`` of a very negative float takes libm's slow subnormal path (~50x slower, measured): below
  the dtype's smallest normal number (``e^-87`` in float32, ``e^-708`` in float64) a kernel value is counted as
  that number, an absolute error under ``n e^-87 ~ 1e-33`` on sums whose diagonal term is 1.

Examples
--------
>>> import numpy as np
>>> x = np.array([[0.0], [0.1], [5.0]])
>>> low, high = gaussian_split(x, np.array([1.0, 1.0, 0.0]), [0.5], dtype="float64")
>>> np.round(low[0], 3)            # the two near points average each other, the far one stays alone
array([1., 1., 0.])
>>> np.allclose(low + high, [1.0, 1.0, 0.0])
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from freqlens._arrays import to_numpy
from freqlens.spectrum.gaussian_reference import (
    as_values,
    check_deltas,
    gaussian_split_dense,
    refuse_if_too_big,
)

# check_deltas, gaussian_split_dense and refuse_if_too_big live in gaussian_reference and are re-exported here
__all__ = ["GaussianSplit", "KernelBlock", "check_deltas", "gaussian_split", "gaussian_split_dense",
           "refuse_if_too_big", "split_from_sums"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# log of the smallest normal number of each dtype: exp() below it is subnormal (slow, and meaningless here)
_EXP_FLOOR = {torch.float32: -87.0, torch.float64: -708.0}


@dataclass
class KernelBlock:
    """The off-diagonal kernel sums of one block of rows, for every delta (torch tensors on the device).

    Attributes
    ----------
    rows : Tensor, shape (b,)
        Indices of the rows (int64, on the device).
    sums : Tensor, shape (m, b)
        ``S'_i = sum_{j != i} G_ij`` for each delta.
    products : Tensor, shape (m, b, W)
        ``(K' v)_i = sum_{j != i} G_ij v_j`` for each delta and each of the ``W`` columns.
    """

    rows: torch.Tensor
    sums: torch.Tensor
    products: torch.Tensor


class GaussianSplit:
    """Exact Gaussian kernel sums over ``n`` points for several deltas, streamed in row blocks of bounded memory.

    Parameters
    ----------
    x : array_like or Tensor, shape (n, ...)
        The points (flattened to ``(n, d)``, centred in float64, then cast to ``dtype`` on ``device``).
    deltas : sequence of float
        Scales ``delta > 0`` (the Gaussian's variance): ``G = exp(-|x_i - x_j|^2 / (2 delta))``.
    device : str or torch.device
        Where the computation runs (``"cpu"``, ``"cuda"``...).
    dtype : {"float32", "float64"} or torch.dtype
        Arithmetic precision. float32 (default) is accurate to ~1e-5 relative on MNIST-sized problems (see the
        module notes); float64 is the reference precision at about half the speed.
    block_rows, block_cols : int
        Tile size. ``block_cols`` columns of distances for ``block_rows`` rows stay in cache while every delta is
        applied to them; the defaults (256 x 2048) suit CPUs with ~1 MiB of L2 per core.
    memory_limit : float, optional
        Bytes this object may use; checked (with the machine's available memory) before anything is allocated.

    Notes
    -----
    Cost of one :meth:`blocks` pass over ``W`` columns: ``2 n^2 d`` flops for the distances (every tile once),
    ``m n^2`` exponentials and ``2 m n^2 W`` flops for the products. Memory: the points (``n d``), the columns
    (``n W``), one accumulator per delta for a row block (``m b_r W``) and three tiles (``b_r b_c``).
    """

    def __init__(self, x: Any, deltas: Sequence[float], *, device: Any = "cpu", dtype: Any = "float32",
                 block_rows: int = 256, block_cols: int = 2048, memory_limit: float | None = None):
        self.deltas = check_deltas(deltas)
        self.device = torch.device(device)
        self.dtype = _resolve_dtype(dtype)
        for name, val in (("block_rows", block_rows), ("block_cols", block_cols)):
            if int(val) != val or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        self.memory_limit = memory_limit
        shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
        if len(shape) < 1 or shape[0] < 2:
            raise ValueError(f"inputs need at least 2 points (first axis), got shape {shape}")
        n_in, d_in = int(shape[0]), int(np.prod(shape[1:], dtype=np.int64))
        itemsize = torch.empty(0, dtype=self.dtype).element_size()
        refuse_if_too_big({"points": float(itemsize) * n_in * d_in}, f"filtering {n_in} points of dimension {d_in}",
                          self.device, memory_limit)
        raw = np.asarray(to_numpy(x))
        if raw.dtype.kind not in "biuf":
            raise TypeError(f"inputs must be a real numeric array, got dtype {raw.dtype}")
        raw = raw.reshape(n_in, d_in)
        self.n, self.d = n_in, d_in
        self.block_rows = int(min(block_rows, self.n))
        self.block_cols = int(min(block_cols, self.n))
        # centre in float64, a slab at a time (no full float64 copy), then round once to the compute dtype
        mean = np.zeros(d_in)
        for r0 in range(0, n_in, 4096):
            slab = raw[r0:r0 + 4096].astype(np.float64)
            if not np.all(np.isfinite(slab)):
                raise ValueError("inputs contain NaN or inf")
            mean += slab.sum(axis=0)
        mean /= n_in
        self.x = torch.empty((n_in, d_in), dtype=self.dtype, device=self.device)
        for r0 in range(0, n_in, 4096):
            self.x[r0:r0 + 4096] = torch.as_tensor(raw[r0:r0 + 4096].astype(np.float64) - mean).to(self.dtype)
        self.sq = (self.x * self.x).sum(dim=1)

    @property
    def itemsize(self) -> int:
        return torch.empty(0, dtype=self.dtype).element_size()

    def bytes_needed(self, n_columns: int, n_rows: int | None = None) -> dict[str, float]:
        """Bytes a :meth:`blocks` pass over ``n_columns`` columns (and ``n_rows`` rows) allocates, by buffer."""
        b = min(self.block_rows, self.n if n_rows is None else max(int(n_rows), 1))
        s = float(self.itemsize)
        w = int(n_columns) + 1
        return {"points": s * self.n * self.d, "columns": s * self.n * w,
                "accumulators": s * len(self.deltas) * b * w, "tiles": 3 * s * b * self.block_cols}

    def blocks(self, values: Any, *, rows: Any = None, distances: torch.Tensor | None = None) -> Iterator[KernelBlock]:
        """Yield the off-diagonal sums of every row block (or of the given ``rows``), in order.

        Parameters
        ----------
        values : array_like or Tensor, shape (n,) or (n, W)
            Columns to filter (cast to ``dtype`` on the device; a tensor already there is used as is).
        rows : array_like of int, optional
            Row indices to compute (default: all ``n`` rows, in blocks of ``block_rows``).
        distances : Tensor, shape (len(rows), n), optional
            The rows' :meth:`row_distances`, kept from an earlier call: the distance GEMM is skipped.

        Yields
        ------
        KernelBlock
            ``sums`` (m, b) and ``products`` (m, b, W) for the block's rows; the tensors are reused, so copy or
            reduce them before the next block.
        """
        v = self._columns(values)
        w = v.shape[1]
        row_idx = (torch.arange(self.n, device=self.device) if rows is None
                   else torch.as_tensor(np.asarray(to_numpy(rows), dtype=np.int64), device=self.device))
        if row_idx.ndim != 1 or (row_idx.numel() and (int(row_idx.min()) < 0 or int(row_idx.max()) >= self.n)):
            raise ValueError(f"rows must be a 1-D array of indices in [0, {self.n}), got {rows!r}")
        if distances is not None and tuple(distances.shape) != (row_idx.numel(), self.n):
            raise ValueError(f"distances must have shape ({row_idx.numel()}, {self.n}), got {tuple(distances.shape)}")
        parts = self.bytes_needed(w, row_idx.numel())
        parts.pop("points")
        refuse_if_too_big(parts, f"filtering {w} columns at {len(self.deltas)} deltas", self.device,
                          self.memory_limit)
        # one extra column of ones: its product is the row sum S'
        vv = torch.empty((self.n, w + 1), dtype=self.dtype, device=self.device)
        vv[:, 0] = 1
        vv[:, 1:] = v
        del v
        m, br, bc = len(self.deltas), self.block_rows, self.block_cols
        scales = [-1.0 / (2.0 * float(dl)) for dl in self.deltas]
        floor = _EXP_FLOOR[self.dtype]
        acc = torch.empty((m, br, w + 1), dtype=self.dtype, device=self.device)
        dist = torch.empty((br, bc), dtype=self.dtype, device=self.device)
        kern = torch.empty((br, bc), dtype=self.dtype, device=self.device)
        for r0 in range(0, row_idx.numel(), br):
            ridx = row_idx[r0:r0 + br]
            b = ridx.numel()
            xr, sqr = self.x[ridx], self.sq[ridx]
            a = acc[:, :b]
            a.zero_()
            for c0 in range(0, self.n, bc):
                c1 = min(c0 + bc, self.n)
                kt = kern[:b, :c1 - c0]
                if distances is not None:
                    dt = distances[r0:r0 + b, c0:c1]
                else:
                    dt = dist[:b, :c1 - c0]
                    # squared distances: |x_r|^2 + |x_c|^2 - 2 x_r.x_c (one GEMM), clamped at 0 against rounding
                    torch.add(sqr[:, None], self.sq[None, c0:c1], out=dt)
                    dt.addmm_(xr, self.x[c0:c1].T, alpha=-2.0)
                    dt.clamp_(min=0.0)
                diag = ((ridx >= c0) & (ridx < c1)).nonzero().squeeze(1)
                diag_cols = ridx[diag] - c0
                dmax = float(dt.max())
                for k, s in enumerate(scales):
                    torch.mul(dt, s, out=kt)
                    if dmax * s < floor:
                        # exp of a very negative number takes libm's slow (subnormal) path, ~50x slower; below
                        # the floor the kernel is under the dtype's smallest normal number and counts as that
                        kt.clamp_(min=floor)
                    kt.exp_()
                    if diag.numel():
                        kt[diag, diag_cols] = 0.0  # off-diagonal sums: G_ii = 1 is added back analytically
                    a[k].addmm_(kt, vv[c0:c1])
            yield KernelBlock(rows=ridx, sums=a[:, :, 0], products=a[:, :, 1:])

    def row_distances(self, rows: Any) -> torch.Tensor:
        """Squared distances from the given rows to every point: a ``(len(rows), n)`` tensor in the compute dtype
        on the device (a row's distance to itself is 0). Keep it to evaluate those rows again cheaply
        (``blocks(values, rows=rows, distances=...)``)."""
        ridx = self._rows(rows)
        refuse_if_too_big({"distances": float(self.itemsize) * ridx.numel() * self.n},
                          f"distances of {ridx.numel()} rows", self.device, self.memory_limit)
        dist = (self.sq[ridx, None] + self.sq[None, :]).addmm_(self.x[ridx], self.x.T, alpha=-2.0).clamp_(min=0.0)
        dist[torch.arange(ridx.numel(), device=self.device), ridx] = 0.0
        return dist

    def sq_distances(self, rows: Any) -> np.ndarray:
        """:meth:`row_distances` as float64 numpy (used to choose scales from the data)."""
        return self.row_distances(rows).double().cpu().numpy()

    def _rows(self, rows: Any) -> torch.Tensor:
        ridx = torch.as_tensor(np.asarray(to_numpy(rows), dtype=np.int64).reshape(-1), device=self.device)
        if ridx.numel() and (int(ridx.min()) < 0 or int(ridx.max()) >= self.n):
            raise ValueError(f"rows must be indices in [0, {self.n}), got {rows!r}")
        return ridx

    def sums_bytes(self, n_columns: int, block: int = 512) -> dict[str, float]:
        """Bytes a :meth:`sums` pass over ``n_columns`` columns allocates, by buffer."""
        s = float(self.itemsize)
        w = int(n_columns) + 1
        b = min(block, self.n)
        return {"columns": s * self.n * w, "accumulators": s * len(self.deltas) * self.n * w, "tiles": 2 * s * b * b}

    def sums(self, values: Any, *, block: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """All off-diagonal sums at once, using the kernel's symmetry: ``(S', K'v)`` of shapes (m, n), (m, n, W).

        Each tile ``(I, J)`` with ``J > I`` is computed once (distances and exponentials) and used twice,
        ``A_I += G_IJ v_J`` and ``A_J += G_IJ^T v_I``: half the distance flops and half the exponentials of
        :meth:`blocks`, for accumulators over every row (``m n W`` numbers) instead of one row block's.
        """
        v = self._columns(values)
        w = v.shape[1]
        refuse_if_too_big(self.sums_bytes(w, block), f"filtering {w} columns at {len(self.deltas)} deltas",
                          self.device, self.memory_limit)
        vv = torch.empty((self.n, w + 1), dtype=self.dtype, device=self.device)
        vv[:, 0] = 1
        vv[:, 1:] = v
        del v
        m, b, n = len(self.deltas), int(min(block, self.n)), self.n
        scales = [-1.0 / (2.0 * float(dl)) for dl in self.deltas]
        floor = _EXP_FLOOR[self.dtype]
        acc = torch.zeros((m, n, w + 1), dtype=self.dtype, device=self.device)
        dist = torch.empty((b, b), dtype=self.dtype, device=self.device)
        kern = torch.empty((b, b), dtype=self.dtype, device=self.device)
        for r0 in range(0, n, b):
            r1 = min(r0 + b, n)
            xr, sqr = self.x[r0:r1], self.sq[r0:r1]
            for c0 in range(r0, n, b):
                c1 = min(c0 + b, n)
                dt, kt = dist[:r1 - r0, :c1 - c0], kern[:r1 - r0, :c1 - c0]
                torch.add(sqr[:, None], self.sq[None, c0:c1], out=dt)
                dt.addmm_(xr, self.x[c0:c1].T, alpha=-2.0)
                dt.clamp_(min=0.0)
                dmax = float(dt.max())
                for k, s in enumerate(scales):
                    torch.mul(dt, s, out=kt)
                    if dmax * s < floor:
                        kt.clamp_(min=floor)
                    kt.exp_()
                    if c0 == r0:  # the diagonal tile: its own transpose, used once, without G_ii
                        kt.fill_diagonal_(0.0)
                        acc[k, r0:r1].addmm_(kt, vv[c0:c1])
                    else:
                        acc[k, r0:r1].addmm_(kt, vv[c0:c1])
                        acc[k, c0:c1].addmm_(kt.T, vv[r0:r1])
        return acc[:, :, 0], acc[:, :, 1:]

    def split(self, values: Any, *, rows: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Low and high parts of ``values`` at every delta (float64 numpy, shape (m, n_rows) or (m, n_rows, W)).

        Holds the whole result in memory (``2 m n W`` float64 numbers); a monitor reduces :meth:`blocks`
        instead."""
        v64 = as_values(values, self.n)
        one_d = v64.ndim == 1
        v64 = v64.reshape(self.n, -1)
        nr = self.n if rows is None else int(np.size(rows))
        refuse_if_too_big({"low and high": 16.0 * len(self.deltas) * nr * v64.shape[1]},
                          "the Gaussian split", None, self.memory_limit)
        low = np.empty((len(self.deltas), nr, v64.shape[1]))
        high = np.empty_like(low)
        pos = 0
        for blk in self.blocks(v64, rows=rows):
            rows_np = blk.rows.cpu().numpy()
            lo, hi = split_from_sums(v64[rows_np], blk.sums.double().cpu().numpy(),
                                     blk.products.double().cpu().numpy())
            low[:, pos:pos + rows_np.size], high[:, pos:pos + rows_np.size] = lo, hi
            pos += rows_np.size
        if one_d:
            return low[..., 0], high[..., 0]
        return low, high

    def _columns(self, values: Any) -> torch.Tensor:
        if isinstance(values, torch.Tensor):
            v = values.detach()
            if v.ndim == 1:
                v = v[:, None]
            if v.ndim != 2 or v.shape[0] != self.n:
                raise ValueError(f"values must have shape (n,) or (n, W) with n = {self.n}, got {tuple(values.shape)}")
            if not bool(torch.isfinite(v).all()):
                raise ValueError("values contain NaN or inf")
            return v.to(device=self.device, dtype=self.dtype)
        arr = as_values(values, self.n).reshape(self.n, -1)
        return torch.as_tensor(arr, dtype=self.dtype, device=self.device)


def split_from_sums(v: np.ndarray, sums: np.ndarray, products: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Low and high parts from the off-diagonal sums (float64 numpy, broadcast over deltas).

    ``v`` (b, W), ``sums`` (m, b), ``products`` (m, b, W) → ``low, high`` (m, b, W) with
    ``low = (v + K'v) / (1 + S')`` and ``high = (v S' - K'v) / (1 + S')``.
    """
    s = sums[..., None]
    den = 1.0 + s
    return (v[None] + products) / den, (v[None] * s - products) / den


def gaussian_split(x: Any, values: Any, deltas: Sequence[float] | float, *, device: Any = "cpu",
                   dtype: Any = "float32", block_rows: int = 256, block_cols: int = 2048,
                   memory_limit: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The exact Gaussian low/high split of ``values`` over the points ``x`` for every delta (float64 numpy out).

    Parameters
    ----------
    x : array_like or Tensor, shape (n, ...)
        Points (flattened to ``(n, d)``).
    values : array_like or Tensor, shape (n,) or (n, c)
        Values at the points.
    deltas : float or sequence of float
        Scales ``delta > 0`` (variance of the Gaussian).
    device, dtype, block_rows, block_cols, memory_limit
        As in :class:`GaussianSplit`.

    Returns
    -------
    low, high : ndarray, shape (m, n) or (m, n, c)

    Notes
    -----
    ``low_i = sum_j G_ij v_j / sum_j G_ij``, ``high = v - low``, ``G_ij = exp(-|x_i - x_j|^2 / (2 delta))``,
    computed without forming ``G`` (see the module notes). Equal to :func:`gaussian_split_dense` to float32
    rounding (or float64 rounding with ``dtype="float64"``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, v = rng.normal(size=(50, 3)), rng.normal(size=50)
    >>> low, high = gaussian_split(x, v, [0.5, 2.0], dtype="float64")
    >>> ref_low, ref_high = gaussian_split_dense(x, v, [0.5, 2.0])
    >>> bool(np.allclose(low, ref_low) and np.allclose(high, ref_high))
    True
    """
    eng = GaussianSplit(x, np.atleast_1d(deltas), device=device, dtype=dtype, block_rows=block_rows,
                        block_cols=block_cols, memory_limit=memory_limit)
    return eng.split(values)


def _resolve_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        return dtype
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return _DTYPES[dtype]

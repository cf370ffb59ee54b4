"""The filtering method: the Frequency Principle of a classifier in high dimension, by a Gaussian low/high split.

For training inputs ``x_i`` (flattened), one-hot labels ``y_i`` and the model's softmax outputs ``h_i``, at scales
``delta``: ``y_low = G y / G 1`` with ``G_ij = exp(-|x_i - x_j|^2 / (2 delta))``, ``y_high = y - y_low``, the same
for ``h``, and

    e_low  = ||y_low - h_low|| / ||y_low||,      e_high = ||y_high - h_high|| / ||y_high||

(Frobenius norms over points and classes). The F-Principle predicts that ``e_low`` falls first.

The split is exact (every pair of points, :mod:`freqlens.spectrum.gaussian_split`). Evaluating it costs
``2 n^2 d`` flops of distances, ``m n^2`` exponentials and ``2 m n^2 c`` flops per record (``m`` deltas, ``c``
classes): microseconds for digits, a minute per record for full MNIST if done naively. So the monitor has two modes:

- ``"exact"``: ``record`` computes ``e_low``/``e_high`` on the spot (small ``n``);
- ``"deferred"``: ``record`` keeps the outputs (``4 n c`` bytes a record, also in ``state_dict``) and returns a
  **preview** -- the same ratios restricted to a fixed random sample of ``preview_rows`` points (their kernel sums
  stay exact over all ``n`` points; their distances are computed once and kept): metrics ``e_low_preview`` /
  ``e_high_preview``; :meth:`FilteringMonitor.flush` then computes the exact metrics of every pending record in
  **one pass** over the kernel (distances and exponentials once for all records and deltas, using the kernel's
  symmetry; one GEMM per tile and delta with every record's columns at once).
- ``"auto"`` (default) picks ``"exact"`` when one pass costs under ~2e10 flop-equivalents, else ``"deferred"``.

Ill-conditioning of ``e_high``: for small ``delta`` in high dimension the kernel is nearly the identity and
``y_high -> 0``; ``e_high`` then divides by almost nothing and amplifies any error of ``h`` by ``||y|| / ||y_high||``.
The monitor reports ``high_fraction[delta] = ||y_high|| / ||y||`` and flags ``delta`` as **ill-conditioned** when
``high_fraction < min_high_fraction`` (default 0.05: the high part holds under 0.25 % of the labels' energy). Rule:
an ill-conditioned ``e_high`` is stored (it is a well-defined number) but is not drawn as a measurement --
:func:`freqlens.report.figures_highdim.plot_filtering` greys and labels it, and its summary step is ``None``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, labels = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
>>> mon = FilteringMonitor(x, labels, deltas=[1.0, 4.0], outputs="probabilities")
>>> mon.mode
'exact'
>>> out = mon.record(0, np.eye(3)[labels])      # a perfect fit: both errors vanish
>>> [float(v) for v in out["e_low"]], [float(v) for v in out["e_high"]]
([0.0, 0.0], [0.0, 0.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from freqlens._memory import available_memory
from freqlens.lab.monitors.base import convergence_step
from freqlens.lab.monitors.classes import OUTPUT_KINDS, class_probabilities, one_hot
from freqlens.spectrum.gaussian_split import GaussianSplit, KernelBlock, check_deltas, refuse_if_too_big

__all__ = ["FilteringMonitor", "auto_deltas"]

_MODES = ("auto", "exact", "deferred")
_EXACT_BUDGET = 2e10  # flop-equivalents of one pass under which "auto" computes at record time
_EXP_COST = 30.0      # an exponential costs about as much time as this many GEMM flops (measured here)


def auto_deltas(engine: GaussianSplit, rows: np.ndarray, count: int = 6) -> np.ndarray:
    """Scales spanning the data: ``count`` values from half the median nearest-neighbour squared distance to half
    the median squared distance (estimated on ``rows``), geometric, rounded to 3 significant digits.

    At the lower end a point's nearest neighbour has weight ~1/e; at the upper end the average spans the data."""
    dist = engine.sq_distances(rows)
    dist[np.arange(len(rows)), rows] = np.inf
    nn = float(np.median(dist.min(axis=1)))
    med = float(np.median(dist[np.isfinite(dist)]))
    lo, hi = max(nn, 1e-12) / 2.0, max(med, nn * 2.0, 1e-12) / 2.0
    vals = np.geomspace(lo, hi, count)
    return np.array([float(f"{v:.3g}") for v in vals])


class FilteringMonitor:
    """``e_low`` and ``e_high`` of a classifier's outputs at several Gaussian scales (the filtering method).

    Parameters
    ----------
    inputs : array_like or Tensor, shape (n, ...)
        The training inputs the outputs will be computed on (N x C x H x W images are flattened).
    labels : array_like, shape (n,) or (n, c)
        Integer classes or one-hot (or soft) label rows.
    deltas : sequence of float or "auto"
        Scales ``delta > 0`` (the Gaussian's variance, in squared input units). ``"auto"``: six values from half
        the median nearest-neighbour squared distance to half the median squared distance (see
        :func:`auto_deltas`); the authors used ``linspace(2, 100, 20)`` for CIFAR-10 pixels / 255.
    n_classes : int, optional
        Number of classes (default: from the labels).
    outputs : {"logits", "probabilities"}
        What ``record`` receives; logits go through a softmax first (the method is defined on probabilities).
    mode : {"auto", "exact", "deferred"}
        See the module notes.
    device, dtype
        Where and in which precision the kernel sums run (float32 default: ~1e-5 relative accuracy, measured).
    threshold, hold : float, int
        Summary rule: the step from which ``e_low`` (``e_high``) stays below ``threshold`` for ``hold`` records.
        The authors read "e_low at delta = 2 falls below 0.1" (threshold 0.1, first crossing: hold 1).
    min_high_fraction : float
        ``e_high`` at a delta with ``||y_high|| / ||y|| < min_high_fraction`` is flagged ill-conditioned.
    preview_rows : int
        Size of the fixed random sample of points the deferred previews use.
    seed : int
        Seed of that sample (and of the automatic deltas' sample).
    memory_limit : float, optional
        Bytes the monitor may use (default: what the machine has available); every buffer is checked before it is
        allocated and a request that cannot be met is refused with the figures.
    block_rows, block_cols : int
        Kernel tile (see :class:`~freqlens.spectrum.gaussian_split.GaussianSplit`).

    Notes
    -----
    With ``r = y - h`` (the residual) and the linear split, ``y_low - h_low = r_low``, so
    ``e_low = ||r_low|| / ||y_low||`` and ``e_high = ||r_high|| / ||y_high||``; ``r_high`` is computed from the
    off-diagonal kernel sums (no cancellation, see :mod:`freqlens.spectrum.gaussian_split`). Previews use the same
    ratios over the sampled rows only. ``high_fraction = ||y_high|| / ||y||`` comes with the first exact pass.

    Protocol: ``record(step, outputs, loss=None)`` returns ``{"e_low", "e_high"}`` (exact mode) or
    ``{"e_low_preview", "e_high_preview"}`` (deferred mode), each an array over :attr:`deltas`;
    :meth:`flush` returns ``[(step, {"e_low", "e_high"}), ...]`` for the records it completed.
    """

    name = "filtering"
    source = "train"
    arrays_file = "filtering.npz"

    def __init__(self, inputs: Any, labels: Any, *, deltas: Any = "auto", n_classes: int | None = None,
                 outputs: str = "logits", mode: str = "auto", device: Any = "cpu", dtype: Any = "float32",
                 threshold: float = 0.1, hold: int = 1, min_high_fraction: float = 0.05, preview_rows: int = 256,
                 seed: int = 0, memory_limit: float | None = None, block_rows: int = 256, block_cols: int = 2048):
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        if outputs not in OUTPUT_KINDS:
            raise ValueError(f"outputs must be one of {OUTPUT_KINDS}, got {outputs!r}")
        if not (threshold > 0 and int(hold) == hold and hold >= 1):
            raise ValueError(f"threshold must be > 0 and hold a positive integer, got {threshold!r}, {hold!r}")
        if not 0 <= min_high_fraction < 1:
            raise ValueError(f"min_high_fraction must be in [0, 1), got {min_high_fraction!r}")
        if int(preview_rows) != preview_rows or preview_rows < 1:
            raise ValueError(f"preview_rows must be a positive integer, got {preview_rows!r}")
        if memory_limit is not None and not memory_limit > 0:
            raise ValueError(f"memory_limit must be > 0 bytes, got {memory_limit!r}")
        if isinstance(deltas, str):
            if deltas != "auto":
                raise ValueError(f"deltas must be a sequence of numbers > 0 or 'auto', got {deltas!r}")
        else:
            deltas = check_deltas(deltas)
        self.outputs = outputs
        self.threshold, self.hold = float(threshold), int(hold)
        self.min_high_fraction = float(min_high_fraction)
        self.memory_limit = memory_limit
        self.seed = int(seed)
        # the engine centres the inputs and refuses, with the figures, what does not fit
        self._engine = GaussianSplit(inputs, [1.0] if isinstance(deltas, str) else deltas, device=device,
                                     dtype=dtype, block_rows=block_rows, block_cols=block_cols,
                                     memory_limit=memory_limit)
        self.n, self.d = self._engine.n, self._engine.d
        self.y = one_hot(labels, self.n, n_classes)
        self.n_classes = self.y.shape[1]
        rng = np.random.default_rng(self.seed)
        self.preview_rows = np.sort(rng.choice(self.n, size=min(int(preview_rows), self.n), replace=False))
        if isinstance(deltas, str):
            deltas = auto_deltas(self._engine, self.preview_rows)
            self._engine.deltas = check_deltas(deltas)
        self.deltas = [float(v) for v in self._engine.deltas]
        m = len(self.deltas)
        self._fingerprint = _fingerprint(self._engine, self.y)
        one_pass = (self.n ** 2) * (2.0 * self.d + m * (_EXP_COST + 2.0 * (self.n_classes + 1)))
        self.mode = mode if mode != "auto" else ("exact" if one_pass <= _EXACT_BUDGET else "deferred")
        self.previews: tuple[str, ...] = ("e_low_preview", "e_high_preview") if self.mode == "deferred" else ()
        self.axes: dict[str, tuple[str, list]] = {"e_low": ("delta", list(self.deltas)),
                                                  "e_high": ("delta", list(self.deltas))}
        for name in self.previews:
            self.axes[name] = ("delta", list(self.deltas))
        # label statistics: ||y_low||^2, ||y_high||^2 (all rows: known after the first exact pass) and on the
        # preview rows (known now)
        self.low_norm2 = np.full(m, np.nan)
        self.high_norm2 = np.full(m, np.nan)
        self.high_support = np.full(m, np.nan)
        self.preview_low_norm2 = self.preview_high_norm2 = np.full(m, np.nan)
        if self.mode == "deferred":
            self.preview_low_norm2, self.preview_high_norm2 = self._label_stats(rows=self.preview_rows)
        # the preview rows' distances are kept (preview_rows x n numbers) when they fit a quarter of the budget:
        # a preview then costs m exponentials of that strip and a thin GEMM, no distance GEMM
        self._preview_dist = None
        if self.mode == "deferred" and (len(self.preview_rows) * self.n * self._engine.itemsize
                                        <= self._budget() / 4):
            self._preview_dist = self._engine.row_distances(self.preview_rows)
        if self.mode == "exact":
            self._label_stats()
        # records: one row per recorded step; exact values are NaN while pending
        self.steps: list[int] = []
        self.losses: list[float] = []
        self._e_low: list[np.ndarray] = []
        self._e_high: list[np.ndarray] = []
        self._p_low: list[np.ndarray] = []
        self._p_high: list[np.ndarray] = []
        self._pending: dict[int, np.ndarray] = {}  # step -> probabilities (n, c) float32

    # -- properties ----------------------------------------------------------------------------------------
    @property
    def high_fraction(self) -> np.ndarray:
        """``||y_high|| / ||y||`` per delta (NaN until the first exact pass)."""
        return np.sqrt(self.high_norm2 / float(np.sum(self.y ** 2)))

    @property
    def ill_conditioned(self) -> np.ndarray:
        """Per delta: True when ``e_high`` is ill-conditioned (``high_fraction < min_high_fraction``); unknown
        (NaN high fraction) counts as not flagged."""
        hf = self.high_fraction
        return np.isfinite(hf) & (hf < self.min_high_fraction)

    @property
    def defer_to_end(self) -> bool:
        """In deferred mode the lab's trainer flushes once, at the end (a checkpoint keeps the pending outputs)."""
        return self.mode == "deferred"

    @property
    def pending_steps(self) -> list[int]:
        return sorted(self._pending)

    # -- recording -----------------------------------------------------------------------------------------
    def record(self, step: int, outputs: Any, loss: float | None = None) -> dict[str, np.ndarray]:
        """Measure the outputs (logits or probabilities, numpy or torch on any device) at ``step``."""
        step = int(step)
        if self.steps and step <= self.steps[-1]:
            raise ValueError(f"step {step} is not after the last recorded step {self.steps[-1]}")
        h = class_probabilities(outputs, self.n, self.n_classes, self.outputs)
        m = len(self.deltas)
        if self.mode == "exact":
            e_low, e_high = self._exact([h])
            res = {"e_low": e_low[0], "e_high": e_high[0]}
            p_low = p_high = np.full(m, np.nan)
        else:
            refuse_if_too_big({"pending outputs": 4.0 * self.n * self.n_classes * (len(self._pending) + 1)},
                              f"keeping {len(self._pending) + 1} pending records", None, self.memory_limit)
            p_low, p_high = self._preview(h)
            self._pending[step] = h.astype(np.float32)
            e_low = e_high = np.full((1, m), np.nan)
            res = {"e_low_preview": p_low, "e_high_preview": p_high}
        self.steps.append(step)
        self.losses.append(float("nan") if loss is None else float(loss))
        self._e_low.append(e_low[0])
        self._e_high.append(e_high[0])
        self._p_low.append(p_low)
        self._p_high.append(p_high)
        return res

    def flush(self) -> list[tuple[int, dict[str, np.ndarray]]]:
        """Compute the exact ``e_low``/``e_high`` of every pending record; return them by step (empty when none).

        One pass over the kernel serves all pending records: the symmetric pass
        (:meth:`~freqlens.spectrum.gaussian_split.GaussianSplit.sums`: ``n^2 d`` flops of distances and
        ``m n^2 / 2`` exponentials, once) when its accumulators (``4 m n W`` bytes, ``W = c`` per record) fit the
        memory budget, else the streamed pass (twice the distances and exponentials, ``O(m b W)`` memory); plus
        ``2 m n^2 c`` flops per record either way. Records are split into several passes only when even that
        does not fit."""
        if not self._pending:
            return []
        steps = sorted(self._pending)
        out: list[tuple[int, dict[str, np.ndarray]]] = []
        kind, group = self._plan(len(steps))
        for g0 in range(0, len(steps), group):
            chunk = steps[g0:g0 + group]
            e_low, e_high = self._exact([self._pending[s] for s in chunk], symmetric=kind == "sym")
            for j, s in enumerate(chunk):
                i = self.steps.index(s)
                self._e_low[i], self._e_high[i] = e_low[j], e_high[j]
                out.append((s, {"e_low": e_low[j], "e_high": e_high[j]}))
                del self._pending[s]
        return out

    def truncate(self, last_step: int) -> None:
        """Forget records (pending or done) after ``last_step``."""
        keep = sum(1 for s in self.steps if s <= last_step)
        for lst in (self.steps, self.losses, self._e_low, self._e_high, self._p_low, self._p_high):
            del lst[keep:]
        self._pending = {s: h for s, h in self._pending.items() if s <= last_step}

    # -- results -------------------------------------------------------------------------------------------
    @property
    def e_low(self) -> np.ndarray:
        """Exact ``e_low``, shape (records, deltas); NaN for pending records."""
        return np.asarray(self._e_low, dtype=np.float64).reshape(len(self.steps), len(self.deltas))

    @property
    def e_high(self) -> np.ndarray:
        return np.asarray(self._e_high, dtype=np.float64).reshape(len(self.steps), len(self.deltas))

    def summaries(self) -> dict[str, dict[Any, Any]]:
        """Per delta: ``e_low_step`` and ``e_high_step`` (first step from which the error stays below
        ``threshold`` for ``hold`` exact records; ``e_high_step`` is None where ill-conditioned),
        ``high_fraction`` and ``ill_conditioned`` (0/1).

        Why these: the F-Principle's claim is an order in time -- the low part is learned before the high part --
        and ``e_low_step < e_high_step`` states it per scale; a crossing ``e_low < e_high`` would not, because at
        initialisation a nearly constant output already has ``e_high ~ 1 > e_low``."""
        done = [i for i, s in enumerate(self.steps) if s not in self._pending]
        steps = [self.steps[i] for i in done]
        lo = self.e_low[done] if done else np.zeros((0, len(self.deltas)))
        hi = self.e_high[done] if done else np.zeros((0, len(self.deltas)))
        flags = self.ill_conditioned
        hf = self.high_fraction
        out: dict[str, dict[Any, Any]] = {"e_low_step": {}, "e_high_step": {}, "high_fraction": {},
                                          "ill_conditioned": {}}
        for j, dl in enumerate(self.deltas):
            out["e_low_step"][dl] = convergence_step(steps, lo[:, j], self.threshold, self.hold)
            out["e_high_step"][dl] = (None if flags[j] else
                                      convergence_step(steps, hi[:, j], self.threshold, self.hold))
            out["high_fraction"][dl] = float(hf[j]) if np.isfinite(hf[j]) else None
            out["ill_conditioned"][dl] = int(flags[j])
        return out

    # -- persistence ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything recorded, numpy only; pending records keep their outputs (``pending_outputs``, float32)."""
        m = len(self.deltas)
        pend = self.pending_steps
        return {
            "deltas": np.asarray(self.deltas), "fingerprint": self._fingerprint,
            "steps": np.asarray(self.steps, dtype=np.int64), "loss": np.asarray(self.losses, dtype=np.float64),
            "e_low": self.e_low, "e_high": self.e_high,
            "e_low_preview": np.asarray(self._p_low, dtype=np.float64).reshape(len(self.steps), m),
            "e_high_preview": np.asarray(self._p_high, dtype=np.float64).reshape(len(self.steps), m),
            "pending_steps": np.asarray(pend, dtype=np.int64),
            "pending_outputs": (np.stack([self._pending[s] for s in pend]) if pend
                                else np.zeros((0, self.n, self.n_classes), np.float32)),
            "low_norm2": self.low_norm2, "high_norm2": self.high_norm2, "high_support": self.high_support,
            "high_fraction": self.high_fraction, "ill_conditioned": self.ill_conditioned,
            "preview_rows": self.preview_rows.astype(np.int64),
            "threshold": np.asarray(self.threshold), "min_high_fraction": np.asarray(self.min_high_fraction),
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict` (raise ``ValueError`` when it was recorded for other data or deltas)."""
        if not np.array_equal(np.asarray(state["deltas"], dtype=np.float64), np.asarray(self.deltas)):
            raise ValueError("the saved filtering monitor used other deltas")
        if not np.allclose(np.asarray(state["fingerprint"]), self._fingerprint, rtol=1e-5, atol=1e-6):
            raise ValueError("the saved filtering monitor was recorded on other inputs or labels")
        if not np.array_equal(np.asarray(state["preview_rows"]), self.preview_rows):
            raise ValueError("the saved filtering monitor used another preview sample (seed)")
        self.steps = [int(s) for s in state["steps"]]
        self.losses = [float(v) for v in state["loss"]]
        self._e_low = list(np.asarray(state["e_low"], dtype=np.float64))
        self._e_high = list(np.asarray(state["e_high"], dtype=np.float64))
        self._p_low = list(np.asarray(state["e_low_preview"], dtype=np.float64))
        self._p_high = list(np.asarray(state["e_high_preview"], dtype=np.float64))
        outs = np.asarray(state["pending_outputs"], dtype=np.float32)
        self._pending = {int(s): outs[i] for i, s in enumerate(np.asarray(state["pending_steps"]))}
        for name in ("low_norm2", "high_norm2", "high_support"):
            saved = np.asarray(state[name], dtype=np.float64)
            if np.all(np.isfinite(saved)) or not np.all(np.isfinite(getattr(self, name))):
                setattr(self, name, saved)

    # -- computation ---------------------------------------------------------------------------------------
    def _budget(self) -> float:
        """Bytes a pass may allocate: half the available memory, at most ``memory_limit`` (default 6 GiB, which
        keeps a full-MNIST run under 8 GiB with its pending outputs)."""
        cap = 6.0 * 2**30 if self.memory_limit is None else float(self.memory_limit)
        return min(0.5 * float(available_memory()), cap)

    def _plan(self, records: int) -> tuple[str, int]:
        """``("sym" | "stream", records per pass)``: the symmetric pass when all records fit in at most two
        passes of it, else the streamed pass in as few passes as memory allows."""
        budget = self._budget()
        c, s, m = self.n_classes, float(self._engine.itemsize), len(self.deltas)
        labels = 0 if np.all(np.isfinite(self.high_norm2)) else c
        b, bc = self._engine.block_rows, self._engine.block_cols
        # per record: its columns (engine dtype + float64 residuals); symmetric: + accumulators over all rows
        # per record: its columns (the monitor's and the engine's copy with the ones column); symmetric: plus the
        # accumulators over all rows; streamed: plus one row block's accumulators and float64 reductions
        per_sym = 2 * s * self.n * c + s * m * self.n * c
        fixed_sym = 2 * s * self.n * (labels + 1) + s * m * self.n * (labels + 1) + 2 * s * min(512, self.n) ** 2
        per_stream = 2 * s * self.n * c + m * b * c * (s + 3 * 8.0)
        fixed_stream = 2 * s * self.n * (labels + 1) + 3 * s * b * bc
        g_sym = int((budget - fixed_sym) // per_sym)
        if g_sym >= 1 and -(-records // g_sym) <= 2:
            return "sym", min(g_sym, records) if g_sym < records else records
        g_stream = int((budget - fixed_stream) // per_stream)
        if g_stream < 1:
            refuse_if_too_big({"one record's columns": fixed_stream + per_stream}, "flushing a filtering record",
                              None, budget)
            g_stream = 1
        return "stream", min(g_stream, records)

    def _label_stats(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``||y_low||^2`` and ``||y_high||^2`` per delta over ``rows`` (all rows: also stored)."""
        dev = self._engine.device
        y = torch.as_tensor(self.y, device=dev)
        m = len(self.deltas)
        lo2, hi2 = torch.zeros(m, dtype=torch.float64, device=dev), torch.zeros(m, dtype=torch.float64, device=dev)
        hi4 = torch.zeros(m, dtype=torch.float64, device=dev)
        for blk in self._engine.blocks(y, rows=rows):
            low, high = _split_block(y[blk.rows], blk)
            lo2 += (low ** 2).sum(dim=(1, 2))
            a = (high ** 2).sum(dim=2)
            hi2 += a.sum(dim=1)
            hi4 += (a ** 2).sum(dim=1)
        lo2, hi2, hi4 = lo2.cpu().numpy(), hi2.cpu().numpy(), hi4.cpu().numpy()
        if rows is None:
            self.low_norm2, self.high_norm2 = lo2, hi2
            with np.errstate(divide="ignore", invalid="ignore"):
                # effective share of points carrying ||y_high||^2: (sum a)^2 / (n sum a^2)
                self.high_support = np.where(hi4 > 0, hi2 ** 2 / (self.n * hi4), 0.0)
        return lo2, hi2

    def _columns(self, hs: list[np.ndarray], with_labels: bool = False) -> torch.Tensor:
        """``[y | y - h_1 | ... | y - h_g]`` (labels only when asked) in the engine's dtype on its device, built in
        place: one copy of the columns, no float64 intermediate (the kernel sums run in that dtype anyway)."""
        c, dev, dt = self.n_classes, self._engine.device, self._engine.dtype
        y = torch.as_tensor(self.y, device=dev).to(dt)
        off = c if with_labels else 0
        cols = torch.empty((self.n, off + c * len(hs)), dtype=dt, device=dev)
        if with_labels:
            cols[:, :c] = y
        for j, h in enumerate(hs):
            torch.sub(y, torch.as_tensor(h, device=dev).to(dt), out=cols[:, off + j * c:off + (j + 1) * c])
        return cols

    def _exact(self, hs: list[np.ndarray], symmetric: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact ``e_low``, ``e_high`` (shape (len(hs), m)) of the given probabilities, in one pass; the label
        columns ride along when their statistics are not known yet."""
        c, m, g = self.n_classes, len(self.deltas), len(hs)
        if symmetric is None:
            symmetric = self._plan(g)[0] == "sym"
        with_labels = not np.all(np.isfinite(self.high_norm2))
        cols = self._columns(hs, with_labels)
        off = c if with_labels else 0
        dev = cols.device
        rl2 = torch.zeros((m, g), dtype=torch.float64, device=dev)
        rh2 = torch.zeros((m, g), dtype=torch.float64, device=dev)
        lo2, hi2, hi4 = (torch.zeros(m, dtype=torch.float64, device=dev) for _ in range(3))
        for blk in (self._symmetric_blocks(cols) if symmetric else self._engine.blocks(cols)):
            low, high = _split_block(cols[blk.rows], blk)
            if with_labels:
                lo2 += (low[:, :, :c] ** 2).sum(dim=(1, 2))
                a = (high[:, :, :c] ** 2).sum(dim=2)
                hi2 += a.sum(dim=1)
                hi4 += (a ** 2).sum(dim=1)
            b = low.shape[1]
            rl2 += (low[:, :, off:] ** 2).reshape(m, b, g, c).sum(dim=(1, 3))
            rh2 += (high[:, :, off:] ** 2).reshape(m, b, g, c).sum(dim=(1, 3))
        if with_labels:
            self.low_norm2, self.high_norm2 = lo2.cpu().numpy(), hi2.cpu().numpy()
            h4 = hi4.cpu().numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                self.high_support = np.where(h4 > 0, self.high_norm2 ** 2 / (self.n * h4), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            e_low = np.sqrt(rl2.cpu().numpy() / self.low_norm2[:, None]).T
            e_high = np.sqrt(rh2.cpu().numpy() / self.high_norm2[:, None]).T
        return e_low, e_high

    def _symmetric_blocks(self, cols: torch.Tensor):
        """The symmetric pass's sums, handed out in row blocks like :meth:`GaussianSplit.blocks`."""
        sums, prods = self._engine.sums(cols)
        b = self._engine.block_rows
        for r0 in range(0, self.n, b):
            rows = torch.arange(r0, min(r0 + b, self.n), device=cols.device)
            yield KernelBlock(rows=rows, sums=sums[:, r0:r0 + b], products=prods[:, r0:r0 + b])

    def _preview(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``e_low``/``e_high`` restricted to the preview rows (exact kernel sums over all points)."""
        cols = self._columns([h])
        m = len(self.deltas)
        rl2, rh2 = np.zeros(m), np.zeros(m)
        for blk in self._engine.blocks(cols, rows=self.preview_rows, distances=self._preview_dist):
            low, high = _split_block(cols[blk.rows], blk)
            rl2 += (low ** 2).sum(dim=(1, 2)).cpu().numpy()
            rh2 += (high ** 2).sum(dim=(1, 2)).cpu().numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(rl2 / self.preview_low_norm2), np.sqrt(rh2 / self.preview_high_norm2)


def _split_block(v: torch.Tensor, blk) -> tuple[torch.Tensor, torch.Tensor]:
    """Low and high parts (float64, shape (m, b, W)) of the rows ``v`` (b, W) from a kernel block."""
    s = blk.sums.to(torch.float64)[:, :, None]
    p = blk.products.to(torch.float64)
    v = v.to(torch.float64)[None]
    den = 1.0 + s
    return (v + p) / den, (v * s - p) / den


def _fingerprint(engine: GaussianSplit, y: np.ndarray) -> np.ndarray:
    """A few numbers that change when the inputs or labels do (checked by ``load_state_dict``)."""
    w = torch.linspace(1.0, 2.0, engine.n, dtype=torch.float64, device=engine.x.device)
    first = engine.x[:, 0].double()
    return np.array([engine.n, engine.d, float((engine.sq.double() * w).sum()), float((first * w).sum()),
                     float((y * np.arange(1, y.shape[1] + 1)).sum()), y.shape[1]], dtype=np.float64)

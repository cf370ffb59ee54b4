"""A stored run as a Python object: identity, status, config, and the measured tables as pandas DataFrames.

It reads the store generically - metrics by name and axis, summaries by name and key, arrays by file - so it works
for every family; the 1-D lab's names (``delta_f``, ``convergence_steps``, ``sweep``) are kept as properties.
In a notebook a run shows itself (status, summary table, the first heat map of its views).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from freqlens.errors import StoreError
from freqlens.runs import files
from freqlens.runs.store import INDEX_NAME, RunStore


def _key(text: str):
    """A stored key back as the number it was written from (1 → 1, '0.5' → 0.5), else the string."""
    try:
        f = float(text)
    except (TypeError, ValueError):
        return text
    return int(f) if f.is_integer() and "." not in str(text) and "e" not in str(text).lower() else f


class Run:
    """A run in the store.

    Attributes
    ----------
    id, path, status, experiment, family, config, unit : the run's identity, settings and step unit.
    delta_f : DataFrame
        ΔF (complex form), one row per evaluated step, one column per tracked frequency; the mean over seeds.
        For a sweep the columns are a MultiIndex ``(variant, k)``. (Any metric: :meth:`wide`.)
    delta_f_mag : DataFrame
        The same for the magnitude form.
    convergence_steps : dict
        Frequency → convergence step (or None); with several seeds the median (None if most never converged).
        For a sweep: variant label → {frequency → step}.
    """

    def __init__(self, store: RunStore, run_id: str):
        self.store = store
        self.id = run_id
        self.path: Path = store.run_dir(run_id)
        self._row = store.get_run(run_id)

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, status={self.status!r}, path='{self.path}')"

    def _repr_html_(self) -> str:
        from freqlens.report.notebook import run_html

        return run_html(self)

    # -- identity ------------------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        return self.store.get_run(self.id)["status"]

    @property
    def message(self) -> str | None:
        return self.store.get_run(self.id)["message"]

    @property
    def experiment(self) -> str:
        return self._row["experiment"]

    @property
    def family(self) -> str:
        return self._row["family"]

    @property
    def unit(self) -> str:
        return self._row["unit"]

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._row["config"])

    @property
    def views(self) -> list[dict[str, Any]]:
        return [dict(v) for v in self._row["views"]]

    @property
    def axes(self) -> dict[str, str]:
        return dict(self._row["axes"])

    @property
    def wall_time(self) -> float | None:
        return self.store.get_run(self.id)["wall_time"]

    @cached_property
    def members(self) -> pd.DataFrame:
        """One row per member: member, label, seed, status, step, wall_time, overrides, info (and the tracked
        ``freqs`` of a 1-D run)."""
        rows = self.store.members(self.id)
        df = pd.DataFrame(rows, columns=["member", "label", "seed", "status", "step", "wall_time", "overrides",
                                         "info", "message"])
        df["freqs"] = [r["info"].get("freqs", []) for r in rows]
        return df

    @property
    def labels(self) -> list[str]:
        """The variants' labels in order (``[""]`` for a run without variants)."""
        return list(dict.fromkeys(self.members["label"]))

    @property
    def is_sweep(self) -> bool:
        return self.labels != [""]

    # -- measurements --------------------------------------------------------------------------------------
    def metrics(self, name: str) -> pd.DataFrame:
        """Long table (member, label, seed, step, key, value) of one recorded metric."""
        df = self.store.metrics(self.id, name)
        mem = self.members[["member", "label", "seed"]]
        return df.merge(mem, on="member", how="left")

    def wide(self, name: str, per_seed: bool = False) -> pd.DataFrame:
        """Metric ``name``: one row per step, one column per key (named by its axis), the mean over seeds; for a
        run with variants the columns are ``(variant, key)``; ``per_seed`` keeps ``(variant, seed, key)``."""
        df = self.metrics(name)
        if df.empty:
            return pd.DataFrame()
        axis = self.axes.get(name) or "key"
        df[axis] = [_key(k) for k in df["key"]]
        if per_seed:
            return df.pivot_table(index="step", columns=["label", "seed", axis], values="value")
        wide = df.pivot_table(index="step", columns=["label", axis], values="value", aggfunc="mean")
        if not self.is_sweep:
            wide.columns = wide.columns.droplevel(0)
        wide.columns.names = ["variant", axis] if self.is_sweep else [axis]
        return wide

    @property
    def delta_f(self) -> pd.DataFrame:
        return self.wide("delta_f")

    @property
    def delta_f_mag(self) -> pd.DataFrame:
        return self.wide("delta_f_mag")

    def delta_f_seeds(self) -> pd.DataFrame:
        """ΔF for every member: columns ``(variant, seed, k)``."""
        return self.wide("delta_f", per_seed=True)

    @property
    def loss(self) -> pd.DataFrame:
        """Training loss per evaluated step, one column per member (``label/seed``)."""
        df = self.metrics("loss")
        if df.empty:
            return pd.DataFrame()
        df["member_name"] = [f"{lab + ' ' if lab else ''}seed {s}" for lab, s in zip(df["label"], df["seed"])]
        return df.pivot_table(index="step", columns="member_name", values="value", sort=False)

    def summaries(self, name: str) -> pd.DataFrame:
        """Summary ``name`` of every member: columns member, label, seed, key, value (None where it has none)."""
        df = self.store.summaries(self.id, name)
        df["key"] = [_key(k) for k in df["key"]]
        df["value"] = pd.Series([None if v is None or v != v else v for v in df["value"]], dtype=object)
        return df.merge(self.members[["member", "label", "seed"]], on="member", how="left")

    @property
    def convergence(self) -> pd.DataFrame:
        """Convergence step of every member and frequency: columns member, label, seed, k, step."""
        df = self.summaries("convergence_step").rename(columns={"key": "k", "value": "step"})
        df["step"] = [np.nan if v is None else float(v) for v in df["step"]]
        return df[["member", "k", "step", "label", "seed"]]

    @property
    def convergence_steps(self) -> dict:
        df = self.convergence
        result: dict = {}
        for (label, k), grp in df.groupby(["label", "k"], sort=False):
            result.setdefault(label, {})[k] = _median_step(grp["step"])
        if not self.is_sweep:
            return {k: v for k, v in sorted(result.get("", {}).items())}
        return {lab: dict(sorted(result[lab].items())) for lab in self.labels if lab in result}

    @property
    def sweep(self) -> pd.DataFrame:
        """For a 1-D sweep: one row per variant with the swept value, the low (k=1) and high component's median
        convergence step and their spread (std over seeds)."""
        cfg = self.config
        if cfg.get("sweep", "none") == "none":
            raise StoreError(f"run {self.id} is not a sweep")
        rows = []
        conv = self.convergence
        for label, value in zip(self.labels, cfg["sweep_values"]):
            grp = conv[conv["label"] == label]
            high_k = int(value) if cfg["sweep"] == "freq" else int(cfg["high_freq"])
            low, high = grp[grp["k"] == 1]["step"], grp[grp["k"] == high_k]["step"]
            rows.append({"variant": label, "value": value, "high_k": high_k,
                         "low_step": _median_step(low), "high_step": _median_step(high),
                         "low_std": _std(low), "high_std": _std(high)})
        df = pd.DataFrame(rows)
        for col in ("low_step", "high_step"):  # int or None (never converged), not float/NaN
            df[col] = pd.Series([r[col] for r in rows], dtype=object)
        return df

    # -- arrays --------------------------------------------------------------------------------------------
    def arrays(self, member: int = 0, file: str = "evals.npz") -> dict[str, np.ndarray]:
        """The arrays a member stored in ``file`` (loaded as data: ``allow_pickle=False``)."""
        path = self.path / f"member-{int(member):02d}" / Path(file).name
        if not path.exists():
            raise StoreError(f"run {self.id} has no {Path(file).name} for member {member}")
        return files.load_arrays(path)

    def evals(self, member: int = 0) -> dict[str, np.ndarray]:
        """Arrays recorded for a 1-D member: x, target, steps, outputs (records × grid), output_dft (records ×
        bins 0..n//2), target_dft, delta_f, delta_f_mag, loss, freqs."""
        return self.arrays(member, "evals.npz")


def _median_step(steps: pd.Series) -> int | None:
    vals = np.array([np.inf if (s is None or pd.isna(s)) else float(s) for s in steps])
    if vals.size == 0:
        return None
    med = float(np.median(vals))
    return None if not np.isfinite(med) else int(round(med))


def _std(steps: pd.Series) -> float | None:
    vals = np.array([s for s in steps if s is not None and not pd.isna(s)], dtype=float)
    return float(vals.std()) if vals.size > 1 else None


def locate_run(id_or_path, runs_dir=None) -> tuple[str, "Path | None"]:
    """``(run id or prefix, runs directory)``: a run's folder path names its runs directory (its parent)."""
    p = Path(str(id_or_path))
    if p.is_dir() and (p.parent / INDEX_NAME).exists():
        return p.name, p.parent
    return str(id_or_path), runs_dir


def load_run(id_or_path, runs_dir=None) -> Run:
    """Open a stored run by id (or unique id prefix) in ``runs_dir``, or by the path of its folder (read-only)."""
    run_id, root = locate_run(id_or_path, runs_dir)
    store = RunStore(root, create=False, readonly=True)
    return Run(store, store.resolve(run_id))

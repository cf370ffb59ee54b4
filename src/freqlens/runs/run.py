"""A stored run as a Python object: ids, status, config, and the measured tables as pandas DataFrames."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from freqlens.errors import StoreError
from freqlens.runs.store import INDEX_NAME, RunStore


class Run:
    """A run in the store.

    Attributes
    ----------
    id, path, status, experiment, config : the run's identity and resolved settings.
    delta_f : DataFrame
        ΔF (complex form), one row per evaluated step, one column per tracked frequency; the mean over seeds.
        For a sweep the columns are a MultiIndex ``(variant, k)``.
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
    def config(self) -> dict[str, Any]:
        return dict(self._row["config"])

    @property
    def wall_time(self) -> float | None:
        return self.store.get_run(self.id)["wall_time"]

    @property
    def is_sweep(self) -> bool:
        return self.config.get("sweep", "none") != "none"

    @cached_property
    def members(self) -> pd.DataFrame:
        df = self.store.members(self.id)
        df["freqs"] = df["freqs"].map(json.loads)
        return df

    # -- measurements --------------------------------------------------------------------------------------
    def metrics(self, name: str) -> pd.DataFrame:
        """Long table (member, label, seed, step, key, value) of one recorded metric."""
        df = self.store.metrics(self.id, name)
        mem = self.members[["member", "label", "seed"]]
        return df.merge(mem, on="member", how="left")

    def _wide(self, name: str, per_seed: bool = False) -> pd.DataFrame:
        df = self.metrics(name)
        if df.empty:
            return pd.DataFrame()
        df["k"] = df["key"].astype(int)
        if per_seed:
            return df.pivot_table(index="step", columns=["label", "seed", "k"], values="value")
        wide = df.pivot_table(index="step", columns=["label", "k"], values="value", aggfunc="mean")
        if not self.is_sweep:
            wide.columns = wide.columns.droplevel(0)
        wide.columns.names = ["variant", "k"] if self.is_sweep else ["k"]
        return wide

    @property
    def delta_f(self) -> pd.DataFrame:
        return self._wide("delta_f")

    @property
    def delta_f_mag(self) -> pd.DataFrame:
        return self._wide("delta_f_mag")

    def delta_f_seeds(self) -> pd.DataFrame:
        """ΔF for every member: columns ``(variant, seed, k)``."""
        return self._wide("delta_f", per_seed=True)

    @property
    def loss(self) -> pd.DataFrame:
        """Training loss per evaluated step, one column per member (``label/seed``)."""
        df = self.metrics("loss")
        if df.empty:
            return pd.DataFrame()
        df["member_name"] = [f"{lab + ' ' if lab else ''}seed {s}" for lab, s in zip(df["label"], df["seed"])]
        return df.pivot_table(index="step", columns="member_name", values="value", sort=False)

    @property
    def convergence(self) -> pd.DataFrame:
        """Convergence step of every member and frequency: columns member, label, seed, k, step."""
        df = self.store.convergence(self.id).rename(columns={"freq": "k"})
        return df.merge(self.members[["member", "label", "seed"]], on="member", how="left")

    @property
    def convergence_steps(self) -> dict:
        df = self.convergence
        result: dict = {}
        for (label, k), grp in df.groupby(["label", "k"], sort=False):
            result.setdefault(label, {})[int(k)] = _median_step(grp["step"])
        if not self.is_sweep:
            return {k: v for k, v in sorted(result.get("", {}).items())}
        order = list(dict.fromkeys(self.members["label"]))
        return {lab: dict(sorted(result[lab].items())) for lab in order if lab in result}

    @property
    def sweep(self) -> pd.DataFrame:
        """For a sweep: one row per variant with the swept value, the low (k=1) and high component's median
        convergence step and their spread (std over seeds)."""
        if not self.is_sweep:
            raise StoreError(f"run {self.id} is not a sweep")
        cfg = self.config
        rows = []
        conv = self.convergence
        for label, value in zip(dict.fromkeys(self.members["label"]), cfg["sweep_values"]):
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
    def evals(self, member: int = 0) -> dict[str, np.ndarray]:
        """Arrays recorded for a member: x, target, steps, outputs (records × grid), output_dft (records × bins
        0..n//2), target_dft, delta_f, delta_f_mag, loss, freqs."""
        path = self.path / f"member-{member:02d}" / "evals.npz"
        if not path.exists():
            raise StoreError(f"run {self.id} has no recorded arrays for member {member}")
        with np.load(path) as z:
            return dict(z)


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
    """Open a stored run by id (or unique id prefix) in ``runs_dir``, or by the path of its folder."""
    run_id, root = locate_run(id_or_path, runs_dir)
    store = RunStore(root, create=False)
    return Run(store, store.resolve(run_id))

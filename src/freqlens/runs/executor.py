"""Execute a lab experiment into the run store: members (sweep variants × seeds), checkpoints, resume.

A run's members are trained one after the other. Each member checkpoints every ``checkpoint_every`` steps
(weights, optimizer state, RNG state, and the arrays recorded so far); a killed run is completed by
:func:`resume_run`, which restarts every unfinished member from its last checkpoint and drops whatever was
recorded after it, so the result equals an uninterrupted run with the same seed (on CPU, bit for bit).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from freqlens.errors import ConfigError, DivergedError, StoreError
from freqlens.io import atomic_path
from freqlens.lab.config import Config
from freqlens.lab.experiments import resolve_config
from freqlens.lab.models import mlp
from freqlens.lab.monitors.frequency import FrequencyMonitor
from freqlens.lab.targets import grids, target_values
from freqlens.lab.train import fit, make_optimizer
from freqlens.runs.store import RunStore

FLUSH_SECONDS = 1.0  # metrics reach the index at least this often (and at every checkpoint)


def resolve_device(spec: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; an explicit device must exist."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {spec!r} requested but CUDA is not available here; use device=cpu or auto")
    if spec == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' requested but MPS is not available here; use device=cpu or auto")
    try:
        return torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"unknown device {spec!r}") from None


@dataclass
class Member:
    index: int
    label: str
    seed: int
    cfg: Config


def members_of(cfg: Config) -> list[Member]:
    out = []
    for label, vcfg in cfg.variants():
        for s in range(cfg.seeds):
            out.append(Member(len(out), label, cfg.seed + s, vcfg))
    return out


def start_run(experiment: str, *, runs_dir=None, quiet: bool = False, **overrides) -> tuple[RunStore, str]:
    """Validate, create and execute a run; return ``(store, run_id)``. Nothing is created for a bad config."""
    cfg = resolve_config(experiment, overrides)
    resolve_device(cfg.device)
    members = members_of(cfg)
    for _, vcfg in cfg.variants():  # build each variant's monitor once: untrackable targets fail up front
        _monitor(vcfg)
    store = RunStore(runs_dir)
    run_id = store.create_run(experiment, cfg.to_dict(), [{"label": m.label, "seed": m.seed} for m in members])
    _execute(store, run_id, cfg, quiet=quiet)
    return store, run_id


def resume_run(run: str, *, runs_dir=None, quiet: bool = False, force: bool = False) -> tuple[RunStore, str]:
    """Complete an interrupted or killed run from its last checkpoints.

    A run still marked ``running`` whose process is alive is refused; ``force=True`` skips that check (for a
    recycled process id - never resume a run that really is still training)."""
    store = RunStore(runs_dir, create=False)
    run_id = store.resolve(run)
    row = store.get_run(run_id)
    if row["status"] == "finished":
        raise StoreError(f"run {run_id} is already finished; nothing to resume")
    if row["status"] == "failed":
        raise StoreError(f"run {run_id} failed ({row['message']}); resuming would repeat it - start a new run")
    if not force and row["status"] == "running" and row["pid"] and row["pid"] != os.getpid() \
            and _alive(row["pid"]):
        raise StoreError(f"run {run_id} is still running in process {row['pid']} (--force if that process is "
                         "not freqlens)")
    cfg = Config.from_dict(row["config"])
    resolve_device(cfg.device)
    store.set_status(run_id, "running", pid=os.getpid())
    _execute(store, run_id, cfg, quiet=quiet)
    return store, run_id


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie or a recycled pid that is not a python process does not count
        with open(f"/proc/{pid}/status") as fh:
            if any(line.startswith("State:") and "Z" in line.split()[1] for line in fh):
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read()
        return b"python" in cmd or b"freqlens" in cmd
    except OSError:
        return True


def _monitor(cfg: Config) -> FrequencyMonitor:
    _, x_eval = grids(cfg)
    return FrequencyMonitor(target_values(cfg, x_eval), freqs=cfg.tracked or None, threshold=cfg.threshold,
                            hold=cfg.hold, max_tracked=cfg.max_tracked)


def _execute(store: RunStore, run_id: str, cfg: Config, *, quiet: bool) -> None:
    from tqdm.auto import tqdm

    folder = store.run_dir(run_id)
    members = members_of(cfg)
    rows = store.members(run_id).set_index("member")
    done_steps = sum(int(rows.loc[m.index, "step"]) for m in members if rows.loc[m.index, "status"] == "finished")
    bar = tqdm(total=cfg.steps * len(members), initial=done_steps, disable=quiet, unit="step", dynamic_ncols=True,
               desc=cfg.experiment, leave=True)
    t0 = time.perf_counter()
    try:
        for m in members:
            if rows.loc[m.index, "status"] == "finished":
                continue
            _train_member(store, run_id, folder / f"member-{m.index:02d}", m, bar, len(members))
    except DivergedError as exc:
        store.set_status(run_id, "failed", message=f"diverged: {exc}", wall_time=time.perf_counter() - t0)
        raise DivergedError(f"run {run_id}: {exc}; recorded data kept, run marked failed") from None
    except BaseException as exc:
        store.set_status(run_id, "interrupted", message="interrupted; `freqlens resume` completes it")
        if isinstance(exc, KeyboardInterrupt):
            import sys

            print(f"freqlens: interrupted: run {run_id} keeps everything up to its last checkpoint; "
                  f"`freqlens resume {run_id}` completes it", file=sys.stderr)
        raise
    finally:
        bar.close()
    total = float(store.members(run_id)["wall_time"].sum())
    store.set_status(run_id, "finished", wall_time=total)


def _train_member(store: RunStore, run_id: str, folder: Path, m: Member, bar, n_members: int) -> None:
    cfg = m.cfg
    device = resolve_device(cfg.device)
    dtype = torch.float64 if cfg.dtype == "float64" else torch.float32
    folder.mkdir(exist_ok=True)
    x_np, x_eval_np = grids(cfg)
    x = torch.as_tensor(x_np, dtype=dtype, device=device).unsqueeze(1)
    y = torch.as_tensor(target_values(cfg, x_np), dtype=dtype, device=device).unsqueeze(1)
    x_eval = None if x_eval_np is x_np else torch.as_tensor(x_eval_np, dtype=dtype, device=device).unsqueeze(1)
    gen = torch.Generator().manual_seed(m.seed)
    model = mlp(1, cfg.hidden, 1, activation=cfg.activation, init=cfg.init, init_std=cfg.init_std,
                generator=gen, dtype=dtype, device=device)
    opt = make_optimizer(cfg.optimizer, model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    monitor = _monitor(cfg)
    freqs = monitor.freqs
    ckpt_path, evals_path = folder / "checkpoint.pt", folder / "evals.npz"

    start = 0
    wall_before = 0.0
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng"])
        start, wall_before = int(ck["step"]), float(ck.get("wall_time", 0.0))
        if evals_path.exists():
            with np.load(evals_path) as z:
                monitor.load_state_dict(dict(z))
        monitor.truncate(start - 1)
    store.truncate_metrics(run_id, m.index, start - 1)
    store.update_member(run_id, m.index, status="running", freqs=freqs)
    if start:
        bar.update(start)
    desc = cfg.experiment + (f" {m.label}" if m.label else "") + (f" seed {m.seed}" if n_members > 1 else "")
    bar.set_description(desc, refresh=False)

    t_start = time.perf_counter()
    last = [start]
    pending: list = []  # metrics measured since the last write to the index
    flushed = [t_start]
    lo, hi = freqs.index(min(freqs)), freqs.index(max(freqs))

    def on_eval(step: int, out: torch.Tensor, loss: float) -> None:
        if x_eval is not None:
            with torch.no_grad():
                out = model(x_eval)
        rec = monitor.record(step, out, loss)
        pending.append((step, {"loss": {"mse": loss}, "delta_f": dict(zip(freqs, rec["delta_f"].tolist())),
                               "delta_f_mag": dict(zip(freqs, rec["delta_f_mag"].tolist()))}))
        if time.perf_counter() - flushed[0] > FLUSH_SECONDS:
            flush()
        if step > last[0]:
            bar.update(step - last[0])
        last[0] = step
        bar.set_postfix_str(f"loss={loss:.2e} ΔF(k={freqs[lo]})={rec['delta_f'][lo]:.3f} "
                            f"ΔF(k={freqs[hi]})={rec['delta_f'][hi]:.3f}", refresh=False)

    def flush() -> None:
        store.add_metrics(run_id, m.index, pending)
        pending.clear()
        flushed[0] = time.perf_counter()

    def save_evals() -> None:
        with atomic_path(evals_path) as tmp:
            np.savez(tmp, x=x_eval_np, **monitor.state_dict())

    def on_checkpoint(step: int) -> None:
        flush()
        save_evals()  # arrays first: they may run ahead of the checkpoint, never behind it
        state = {"step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
                 "rng": torch.get_rng_state(), "wall_time": wall_before + time.perf_counter() - t_start}
        with atomic_path(ckpt_path) as tmp:
            torch.save(state, tmp)
        store.update_member(run_id, m.index, step=step)

    threads_before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        fit(model, opt, x, y, steps=cfg.steps, start_step=start, eval_every=cfg.eval_every, on_eval=on_eval,
            checkpoint_every=cfg.checkpoint_every, on_checkpoint=on_checkpoint)
    except DivergedError:
        flush()
        save_evals()
        store.update_member(run_id, m.index, status="failed", step=last[0])
        raise
    except BaseException:
        flush()  # Ctrl-C: keep what was measured (a resume drops what lies past the checkpoint)
        raise
    finally:
        torch.set_num_threads(threads_before)
    wall = wall_before + time.perf_counter() - t_start
    flush()
    save_evals()
    with atomic_path(folder / "final.pt") as tmp:
        torch.save(model.state_dict(), tmp)
    store.set_convergence(run_id, m.index, monitor.convergence_steps())
    store.update_member(run_id, m.index, status="finished", step=cfg.steps, wall_time=wall)
    with contextlib.suppress(OSError):
        ckpt_path.unlink()
    bar.update(cfg.steps - last[0])

"""Execute a lab run into the store: members (variants × seeds), checkpoints, resume - the same for every family.

A run's members are trained one after the other. Each member checkpoints every ``checkpoint_every`` steps; the
checkpoint holds everything needed to continue exactly (model, optimizer and sampler state, every monitor's state,
the metrics recorded so far), so it never depends on another file being current. A killed run is completed by
:func:`resume_run`, which restarts every unfinished member from its last checkpoint and drops whatever was
recorded after it: the result equals an uninterrupted run with the same seed (on CPU, bit for bit).

One process per run: the run folder's lock (:mod:`freqlens.runs.lock`) is held while it trains. SIGTERM is
handled like Ctrl-C: the run is marked interrupted and says how to resume it.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from freqlens.errors import ConfigError, DivergedError, StoreError
from freqlens.lab.config import TrainConfig, check_memory
from freqlens.lab.experiments import family_of, resolve_config, run_views
from freqlens.lab.family import Family
from freqlens.lab.optim import make_optimizer
from freqlens.lab.train import Trainer
from freqlens.runs import files
from freqlens.runs.lock import RunLock
from freqlens.runs.store import RunStore


class Terminated(BaseException):
    """The process received SIGTERM (``kill``, ``timeout``, a container stop): stop like Ctrl-C, exit 143.
    (Not a KeyboardInterrupt: the CLI framework would turn that into exit code 130.)"""


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
    cfg: Any
    overrides: dict[str, Any]


def members_of(cfg: TrainConfig) -> list[Member]:
    """Variants × seeds, in execution order."""
    out = []
    base = cfg.to_dict()
    for label, vcfg in cfg.variants():
        changed = {k: v for k, v in vcfg.to_dict().items() if base.get(k) != v}
        for s in range(cfg.seeds):
            out.append(Member(len(out), label, cfg.seed + s, vcfg, changed))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Starting and resuming
# ---------------------------------------------------------------------------------------------------------------
def start_run(experiment: str, *, runs_dir=None, quiet: bool = False, sweep_id: str | None = None,
              sweep_index: int | None = None, store=None, **overrides) -> tuple[RunStore, str]:
    """Validate, create and execute a run; return ``(store, run_id)``. Nothing is created for a bad config.

    ``store``: where to record it (default the :class:`RunStore` of ``runs_dir``; a
    :class:`~freqlens.runs.folder.FolderStore` writes the run folder only)."""
    cfg = resolve_config(experiment, overrides)
    family = family_of(cfg)
    resolve_device(cfg.device)
    for _, vcfg in cfg.variants():  # sizes first: the family's own checks build targets and data
        check_memory(vcfg, stacked=vcfg.seeds if family.lockstep(vcfg) else 1)
    family.check(cfg)
    cfg = family.prepare(cfg)
    for _, vcfg in cfg.variants():
        n_params = family.n_params(vcfg)
        if n_params is not None:  # a derivative-free method on too large a network is refused up front
            from freqlens.lab.optim import check_size

            check_size(vcfg.optimizer, n_params, popsize=int(getattr(vcfg, "popsize", 0)))
    members = members_of(cfg)
    store = RunStore(runs_dir) if store is None else store
    run_id, folder = store.new_run_folder(experiment)
    lock = RunLock(folder, run_id).acquire()
    try:
        try:
            files.write_json(folder / "config.json", cfg.to_dict())
            store.insert_run(run_id, experiment=experiment, family=family.name, config=cfg.to_dict(),
                             members=[{"label": m.label, "seed": m.seed, "overrides": m.overrides} for m in members],
                             unit=family.unit_of(cfg), axes=family.metric_axes(cfg), views=run_views(cfg),
                             sweep_id=sweep_id, sweep_index=sweep_index)
        except BaseException:
            lock.release()
            shutil.rmtree(folder, ignore_errors=True)  # nothing indexed: leave no orphan folder
            raise
        _execute(store, run_id, cfg, family, quiet=quiet)
    finally:
        lock.release()
    return store, run_id


def resume_run(run: str, *, runs_dir=None, quiet: bool = False, force: bool = False,
               store=None) -> tuple[RunStore, str]:
    """Complete an interrupted or killed run from its last checkpoints.

    A run another process is training (its lock is held) is refused. ``force`` is accepted for scripts written
    for freqlens 0.1, where liveness was guessed from a process id; the lock makes it unnecessary.
    """
    store = RunStore(runs_dir, create=False) if store is None else store
    run_id = store.resolve(run)
    _refuse_ended(store.get_run(run_id), run_id)
    folder = store.run_dir(run_id)
    if not folder.is_dir():
        raise StoreError(f"run {run_id} has no folder {folder}; it cannot be resumed")
    with RunLock(folder, run_id):
        row = store.get_run(run_id)
        family = family_of(row["config"])
        cfg = family.config.from_dict(row["config"])
        resolve_device(cfg.device)
        family.check(cfg)
        # a checkpoint that cannot continue the run exactly is refused before the run is touched
        finished = {r["member"] for r in store.members(run_id) if r["status"] == "finished"}
        checkpoints = {m.index: _load_member_checkpoint(folder / f"member-{m.index:02d}", m)
                       for m in members_of(cfg) if m.index not in finished}
        _refuse_ended(store.claim(run_id), run_id)
        _execute(store, run_id, cfg, family, quiet=quiet, checkpoints=checkpoints)
    return store, run_id


def _refuse_ended(row: dict, run_id: str) -> None:
    if row["status"] == "finished":
        raise StoreError(f"run {run_id} is already finished; nothing to resume")
    if row["status"] == "failed":
        raise StoreError(f"run {run_id} failed ({row['message']}); resuming would repeat it - start a new run")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute(store: RunStore, run_id: str, cfg: TrainConfig, family: Family, *, quiet: bool,
             checkpoints: dict[int, dict | None] | None = None) -> None:
    from tqdm.auto import tqdm

    folder = store.run_dir(run_id)
    members = members_of(cfg)
    rows = {r["member"]: r for r in store.members(run_id)}
    todo = [m for m in members if rows[m.index]["status"] != "finished"]
    checkpoints = dict(checkpoints or {})
    done = sum(int(rows[m.index]["step"]) for m in members if rows[m.index]["status"] == "finished")
    bar = tqdm(total=sum(m.cfg.steps for m in members), initial=done, disable=quiet, unit=family.unit_of(cfg),
               dynamic_ncols=True,
               desc=cfg.experiment, leave=True, delay=0.5)
    t0 = time.perf_counter()
    try:
        with _sigterm_as_interrupt():
            for group in _groups(family, todo, checkpoints):
                runs = [MemberRun(store, run_id, folder / f"member-{m.index:02d}", m, family, bar, len(members),
                                  checkpoints.pop(m.index, None)) for m in group]
                if len(runs) > 1:
                    from freqlens.lab.lockstep import run_lockstep

                    run_lockstep(runs)
                else:
                    runs[0].run()
    except DivergedError as exc:
        store.set_status(run_id, "failed", message=f"diverged: {exc}", wall_time=time.perf_counter() - t0)
        raise DivergedError(f"run {run_id}: {exc}; recorded data kept, run marked failed") from None
    except BaseException as exc:
        how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        with contextlib.suppress(Exception):
            store.set_status(run_id, "interrupted", message=f"{how}; `freqlens resume` completes it")
        if isinstance(exc, (KeyboardInterrupt, Terminated)):
            print(f"freqlens: {how}: run {run_id} keeps everything up to its last checkpoint; "
                  f"`freqlens resume {run_id}` completes it", file=sys.stderr)
            exc.reported = True  # the CLI need not say it again
        raise
    finally:
        bar.close()
    total = float(sum(r["wall_time"] for r in store.members(run_id)))
    store.set_status(run_id, "finished", wall_time=total)


def _groups(family: Family, todo: list[Member], checkpoints: dict) -> list[list[Member]]:
    """The members to train together: the seeds of one variant when the family stacks them (``family.lockstep``)
    and they start from the same step; every other member alone."""
    groups: list[list[Member]] = []
    by_label: dict[str, list[Member]] = {}
    for m in todo:
        if family.lockstep(m.cfg):
            by_label.setdefault(m.label, []).append(m)
        else:
            groups.append([m])
    for ms in by_label.values():
        steps = {int(checkpoints[m.index]["step"]) if checkpoints.get(m.index) else 0 for m in ms}
        groups += [ms] if len(steps) == 1 else [[m] for m in ms]
    return sorted(groups, key=lambda g: g[0].index)


# ---------------------------------------------------------------------------------------------------------------
# One member
# ---------------------------------------------------------------------------------------------------------------
class MemberRun:
    """Build, restore, train and record one member of a run."""

    def __init__(self, store: RunStore, run_id: str, folder: Path, member: Member, family: Family, bar,
                 n_members: int, checkpoint: dict | None = None):
        self.store, self.run_id, self.folder, self.m, self.family, self.bar = store, run_id, folder, member, family, bar
        self.n_members = n_members
        self.loaded = checkpoint
        self.history: list[tuple[int, str, str, float | None]] = []
        self.last_bar = 0
        self.share = 1.0  # of the elapsed time charged to this member (1/S when S members train stacked)

    def run(self) -> None:
        trainer = self.prepare()
        cfg = self.m.cfg
        threads_before = torch.get_num_threads()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        try:
            with self.guard(trainer):
                trainer.run()
        finally:
            torch.set_num_threads(threads_before)
        self.finish(cfg.steps)

    @contextlib.contextmanager
    def guard(self, trainer: Trainer):
        """A member that diverges is recorded as failed; any other exit keeps what was measured."""
        try:
            yield
        except DivergedError:
            self.record_failure(trainer)
            raise
        except BaseException:
            with contextlib.suppress(Exception):
                trainer.flush()  # Ctrl-C: keep what was measured (a resume drops what lies past the checkpoint)
            raise

    def record_failure(self, trainer: Trainer) -> None:
        trainer.flush()
        self.save_record("failed", trainer.last_step)
        self.store.update_member(self.run_id, self.m.index, status="failed", step=trainer.last_step)

    def prepare(self) -> Trainer:
        """Build the member's problem, monitors and optimizer, restore its checkpoint, mark it running; return
        its trainer (which starts at ``self.start``)."""
        m, cfg = self.m, self.m.cfg
        self.folder.mkdir(exist_ok=True)
        device = resolve_device(cfg.device)
        dtype = torch.float64 if cfg.dtype == "float64" else torch.float32
        problem = self.family.build(cfg, m.seed, device, dtype)
        problem.info["unit"] = self.family.unit_of(cfg)
        monitors = self.family.monitors(cfg, problem)
        optimizer = make_optimizer(cfg, problem, m.seed)
        self.problem, self.monitors, self.optimizer = problem, monitors, optimizer

        previous = next((r["info"] for r in self.store.members(self.run_id) if r["member"] == m.index), {})
        if previous.get("resumed"):  # notes of earlier resumes stay in the record
            problem.info["resumed"] = list(previous["resumed"])
        start, self.wall_before = self._restore(self.loaded)
        self.loaded = None
        # the index gets exactly what the checkpoint holds (whatever it had, or lost, past or before it)
        self.store.replace_member_records(self.run_id, m.index, -1)
        self._sink_history(self.history)
        self.store.update_member(self.run_id, m.index, status="running", info=problem.info)
        self.last_bar = start
        if start:
            self.bar.update(start)
        desc = cfg.experiment + (f" {m.label}" if m.label else "") + (f" seed {m.seed}" if self.n_members > 1 else "")
        self.bar.set_description(desc, refresh=False)

        self.t_start = time.perf_counter()
        self.start = start
        return Trainer(problem, optimizer, monitors, stop=cfg.steps, start=start, eval_every=cfg.eval_every,
                       checkpoint_every=cfg.checkpoint_every, sink=self.sink, checkpoint=self.checkpoint,
                       progress=self.progress, loss_name=getattr(problem, "loss_name", "mse"))

    # -- restoring -----------------------------------------------------------------------------------------
    def _restore(self, ck: dict | None) -> tuple[int, float]:
        """Restore the member from its loaded checkpoint, if any; return ``(start step, wall time so far)``."""
        if ck is None:
            return 0, 0.0
        path = self.folder / "checkpoint.pt"
        start = int(ck["step"])
        try:
            self.problem.model.load_state_dict(ck["model"])
            opt_state = ck["optimizer"]
            if "param_groups" in opt_state:  # freqlens 0.1 saved the torch optimizer's state bare
                opt_state = {"optimizer": opt_state}
            self.optimizer.load_state_dict(opt_state)
            if not getattr(self.optimizer, "exact_resume", True):  # said in the run's record
                notes = self.problem.info.setdefault("resumed", [])
                notes.append(f"step {start}: {getattr(self.optimizer, 'resume_note', 'warm restart')}")
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise StoreError(f"checkpoint {path} does not fit run {self.run_id} "
                             f"({str(exc).splitlines()[0][:120]})") from None
        if "monitors" in ck:
            for mon in self.monitors:
                mon.load_state_dict(_numpy(ck["monitors"][mon.name]))
            self.history = [h for h in files.arrays_to_metrics(_numpy(ck["history"])) if h[0] < start]
        else:
            self._restore_v1(start)
        for mon in self.monitors:
            mon.truncate(start - 1)
        return start, float(ck.get("wall_time", 0.0))

    def _restore_v1(self, start: int) -> None:
        """A checkpoint written by freqlens 0.1 holds no measurements: they come from ``evals.npz`` (checked by
        :func:`_load_member_checkpoint`) and the index."""
        cfg = self.m.cfg
        expected = [s for s in range(0, start, cfg.eval_every)]
        for mon in self.monitors:
            mon.load_state_dict(files.load_arrays(self.folder / mon.arrays_file))
        df = self.store.metrics(self.run_id)
        df = df[(df["member"] == self.m.index) & (df["step"] < start)]
        self.history = [(int(s), str(n), str(k), None if v is None or v != v else float(v))
                        for s, n, k, v in zip(df["step"], df["name"], df["key"], df["value"])]
        if sorted({h[0] for h in self.history}) != expected:
            raise StoreError(f"the index holds other records than the checkpoint of run {self.run_id} expects; "
                             "it cannot be resumed exactly - start it again")

    # -- callbacks of the trainer --------------------------------------------------------------------------
    def sink(self, records: list) -> None:
        rows = [(step, name, str(key), v) for step, rec in records for name, kv in rec.items() for key, v in kv.items()]
        self.history.extend(rows)
        self.store.add_metrics(self.run_id, self.m.index, records)

    def _sink_history(self, rows: list) -> None:
        by_step: dict[int, dict[str, dict[str, float]]] = {}
        for step, name, key, v in rows:
            by_step.setdefault(step, {}).setdefault(name, {})[key] = v
        self.store.add_metrics(self.run_id, self.m.index, sorted(by_step.items()))

    def progress(self, step: int, text: str) -> None:
        if step > self.last_bar:
            self.bar.update(step - self.last_bar)
            self.last_bar = step
        self.bar.set_postfix_str(text, refresh=False)

    def checkpoint(self, step: int) -> None:
        wall = self.wall_before + (time.perf_counter() - self.t_start) * self.share
        self.save_arrays()  # outputs for a report of the unfinished run
        files.save_checkpoint(self.folder / "checkpoint.pt", {
            "format": "freqlens-checkpoint", "version": 2, "step": step, "wall_time": wall,
            "model": self.problem.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "monitors": {mon.name: mon.state_dict() for mon in self.monitors},
            "history": files.metrics_to_arrays(self.history)})
        self.save_record("running", step)
        self.store.update_member(self.run_id, self.m.index, step=step)

    # -- records -------------------------------------------------------------------------------------------
    def save_arrays(self) -> None:
        for mon in self.monitors:
            files.save_arrays(self.folder / mon.arrays_file, {**self.problem.arrays, **mon.state_dict()})

    def summaries(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for mon in self.monitors:
            out.update(mon.summaries())
        return out

    def save_record(self, status: str, step: int, summaries: dict | None = None, wall: float | None = None) -> None:
        """The member's durable record (what ``freqlens rebuild-index`` reads back)."""
        files.save_arrays(self.folder / "metrics.npz", files.metrics_to_arrays(self.history))
        files.write_json(self.folder / "member.json", {
            "member": self.m.index, "label": self.m.label, "seed": self.m.seed, "status": status, "step": step,
            "wall_time": wall, "overrides": self.m.overrides, "info": self.problem.info, "summaries": {
                name: {str(k): v for k, v in kv.items()} for name, kv in (summaries or {}).items()}})

    def finish(self, steps: int) -> None:
        wall = self.wall_before + (time.perf_counter() - self.t_start) * self.share
        self.save_arrays()
        files.save_checkpoint(self.folder / "final.pt", self.problem.model.state_dict())
        summaries = self.summaries()
        self.save_record("finished", steps, summaries, wall)
        self.store.set_summaries(self.run_id, self.m.index, summaries)
        self.store.update_member(self.run_id, self.m.index, status="finished", step=steps, wall_time=wall)
        with contextlib.suppress(OSError):
            (self.folder / "checkpoint.pt").unlink()
        self.bar.update(steps - self.last_bar)


def _load_member_checkpoint(folder: Path, m: Member) -> dict | None:
    """The member's checkpoint as data (or None), refused with one line when it cannot continue the run exactly.

    A checkpoint written by freqlens 0.1 holds no measurements: they come from the member's ``evals.npz``, which
    must reach the checkpoint (else the resumed run would report wrong numbers)."""
    path = folder / "checkpoint.pt"
    if not path.exists():
        return None
    ck = files.load_checkpoint(path, map_location="cpu")
    if "monitors" not in ck:
        start = int(ck["step"])
        evals = folder / "evals.npz"
        steps = [int(s) for s in files.load_arrays(evals).get("steps", [])] if evals.exists() else []
        if not set(range(0, start, m.cfg.eval_every)) <= set(steps):
            have = f"records up to step {max(steps)}" if steps else "no records"
            raise StoreError(f"{evals} is missing or behind its checkpoint ({have}, checkpoint at step {start}); "
                             f"run {folder.parent.name} cannot be resumed exactly - start it again")
    return ck


def _numpy(obj: Any) -> Any:
    """Tensors of a loaded checkpoint back to numpy (monitors keep numpy state)."""
    if isinstance(obj, torch.Tensor):
        return obj.cpu().numpy()
    if isinstance(obj, dict):
        return {k: _numpy(v) for k, v in obj.items()}
    return obj


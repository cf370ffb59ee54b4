"""Sweeps: many runs of one experiment (a grid and/or a list of overrides, times seeds), on this machine's cores or
on Ray.

A sweep file (YAML, read with ``yaml.safe_load``)::

    experiment: fp1d               # any experiment (freqlens experiments)
    name: act-width                # optional; names the sweep id
    set: {steps: 2000}             # overrides common to every run
    grid:                          # the product of these values ...
      activation: [tanh, relu]
      hidden: ["64,64", "200,200"]
    runs:                          # ... and/or a list of override sets (each combined with every grid point)
      - {lr: 1.0e-3}
    seeds: 5                       # each configuration with seeds seed, seed+1, ... as separate runs

Every planned run is validated before anything starts. The sweep id is derived from the plan
(``<name>-<hash>``), so invoking the same file again finds the same sweep: finished runs are skipped, unfinished
ones resumed from their checkpoints, missing ones started - no duplicates, nothing lost.

Backends: ``serial`` (in this process), ``local`` (a process pool sized to the cores, one torch thread per worker;
workers write the SQLite index directly - one machine, WAL journal), ``ray`` (tasks on a Ray cluster, ``ray.init()``
locally when no address is given). Ray workers may run on other machines, which cannot share one SQLite file: they
write only their run folders (:class:`~freqlens.runs.folder.FolderStore`; the runs directory must be on a file system
they all reach), and the driver copies each finished task's run into the index (:func:`freqlens.runs.folder.ingest`).
A task that dies (kill -9) is retried by Ray and resumes from the run's last checkpoint; a run that diverges is
recorded as failed and the sweep goes on.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from freqlens.errors import ConfigError, DivergedError, FreqlensError, StoreError
from freqlens.lab.experiments import EXPERIMENTS, resolve_config

SPEC_KEYS = ("experiment", "name", "set", "grid", "runs", "seeds")
MAX_RUNS = 200  # a larger sweep needs --yes
BACKENDS = ("local", "serial", "ray")


@dataclass
class SweepPlan:
    id: str
    experiment: str
    spec: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)  # [{"index", "overrides", "label", "config"}]


def load_spec(path: str | os.PathLike) -> dict[str, Any]:
    """The sweep file as a dict (YAML, safely loaded); one-line :class:`ConfigError` for a file that is not one."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {path} does not exist")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.constructor.ConstructorError as exc:
        where = exc.problem_mark
        tag = str(exc.problem).rsplit(" ", 1)[-1].strip("'").replace("tag:yaml.org,2002:", "!!")
        raise ConfigError(f"sweep file {path} uses a YAML tag freqlens does not load ({tag} at line "
                          f"{where.line + 1}): a sweep file holds plain data only") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        raise ConfigError(f"sweep file {path} is not valid YAML"
                          + (f" (line {where.line + 1}, column {where.column + 1})" if where else "")) from None
    if not isinstance(spec, dict):
        raise ConfigError(f"sweep file {path} must hold a mapping (experiment:, grid:, runs:, seeds:, ...)")
    return spec


def plan(spec: dict[str, Any]) -> SweepPlan:
    """Expand a sweep spec into its runs, each validated as a config; refuse what is malformed."""
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"unknown sweep key {unknown[0]!r}; a sweep file has {', '.join(SPEC_KEYS)}")
    experiment = spec.get("experiment")
    if not isinstance(experiment, str) or experiment not in EXPERIMENTS:
        raise ConfigError(f"sweep needs an experiment, one of {', '.join(EXPERIMENTS)}; got {experiment!r}")
    name = str(spec.get("name") or experiment)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", name):
        raise ConfigError(f"sweep name must be lower-case letters, digits and hyphens, got {name!r}")
    common = spec.get("set") or {}
    grid = spec.get("grid") or {}
    extra = spec.get("runs")
    for key, value, kind in (("set", common, dict), ("grid", grid, dict), ("runs", extra or [], list)):
        if not isinstance(value, kind):
            raise ConfigError(f"sweep {key}: must be a {'mapping' if kind is dict else 'list of mappings'}")
    if "grid" in spec and not grid or "runs" in spec and not extra:
        raise ConfigError("sweep grid: and runs: must not be empty (leave them out instead)")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep grid {key}: must list at least one value, got {values!r}")
    if extra is not None and not all(isinstance(r, dict) and r for r in extra):
        raise ConfigError("sweep runs: must be a list of non-empty mappings of overrides")
    seeds = spec.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 10_000:
        raise ConfigError(f"sweep seeds: must be an integer from 1 to 10000, got {seeds!r}")
    for key in ("seed", "seeds"):
        if key in grid or key in common or any(key in r for r in extra or []):
            raise ConfigError(f"sweep: {key} is set by the sweep (seeds: N runs seeds seed..seed+N-1)")
    both = sorted(set(common) & (set(grid) | {k for r in extra or [] for k in r}))
    if both:
        raise ConfigError(f"sweep: {both[0]} is in set: and in grid:/runs: - give each key one place")
    points = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] if grid else [{}]
    configs = [{**p, **r} for p in points for r in (extra or [{}])]
    base_seed = int(resolve_config(experiment, common).seed)
    runs = []
    for cfg_over in configs:
        for s in range(seeds):
            overrides = {**common, **cfg_over, "seed": base_seed + s, "seeds": 1}
            cfg = resolve_config(experiment, overrides)  # a bad key or value fails now, before anything runs
            label = " ".join(f"{k}={_short(v)}" for k, v in cfg_over.items()) or "(defaults)"
            runs.append({"index": len(runs), "overrides": overrides, "label": label, "seed": base_seed + s,
                         "config": cfg.to_dict()})
    seen: dict[str, str] = {}
    for r in runs:
        key = json.dumps(r["config"], sort_keys=True, default=str)
        if key in seen:
            raise ConfigError(f"sweep plans the same run twice ({seen[key]} and {r['label']}, seed {r['seed']}); "
                              "remove the duplicate value")
        seen[key] = r["label"]
    digest = hashlib.sha256(json.dumps([experiment, [r["config"] for r in runs]], sort_keys=True,
                                       default=str).encode()).hexdigest()[:8]
    return SweepPlan(f"{name}-{digest}", experiment, dict(spec), runs)


def _short(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


# ---------------------------------------------------------------------------------------------------------------
# One planned run (what a worker does)
# ---------------------------------------------------------------------------------------------------------------
def run_one(runs_dir: str, sweep_id: str, index: int, experiment: str, overrides: dict, run_id: str | None,
            folder_only: bool = False) -> dict[str, Any]:
    """Start (or, with ``run_id``, resume) one run of a sweep; return ``{index, run_id, status, message}``."""
    from freqlens.lab.runner import resume_run, start_run
    from freqlens.runs.folder import FolderStore
    from freqlens.runs.store import RunStore

    store = FolderStore(runs_dir) if folder_only else RunStore(runs_dir)
    overrides = {"threads": 1, **overrides}  # one torch thread per worker
    try:
        if run_id:
            _, rid = resume_run(run_id, store=store, quiet=True)
        else:
            _, rid = start_run(experiment, store=store, quiet=True, sweep_id=sweep_id, sweep_index=index,
                               **overrides)
        return {"index": index, "run_id": rid, "status": "finished", "message": None}
    except DivergedError as exc:
        return {"index": index, "run_id": run_id or _newest(store, sweep_id, index), "status": "failed",
                "message": str(exc)}
    except StoreError as exc:
        if "already finished" in str(exc):
            return {"index": index, "run_id": run_id, "status": "finished", "message": None}
        return {"index": index, "run_id": run_id, "status": "error", "message": str(exc)}
    except FreqlensError as exc:
        return {"index": index, "run_id": run_id, "status": "error", "message": str(exc)}


def _newest(store, sweep_id: str, index: int) -> str | None:
    rows = [r for r in getattr(store, "sweep_runs", lambda s: [])(sweep_id) if r["sweep_index"] == index]
    return rows[-1]["id"] if rows else None


def _die_with_parent() -> None:
    """Pool initializer (Linux): a worker dies with the driver, even when the driver is killed with SIGKILL, so
    the next invocation finds its run unlocked and resumes it."""
    import signal

    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


# ---------------------------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------------------------
def run_sweep(spec_or_path, *, runs_dir=None, backend: str = "local", workers: int | None = None,
              address: str | None = None, yes: bool = False, quiet: bool = False,
              say: Callable[[str], None] = print) -> SweepPlan:
    """Plan, then run (or complete) a sweep; return its plan. Every run lands in the store tagged with its id."""
    from freqlens.lab.config import machine_threads
    from freqlens.runs.store import RunStore

    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    spec = spec_or_path if isinstance(spec_or_path, dict) else load_spec(spec_or_path)
    sp = plan(spec)
    if len(sp.runs) > MAX_RUNS and not yes:
        raise ConfigError(f"sweep {sp.id} would launch {len(sp.runs)} runs (more than {MAX_RUNS}); add --yes")
    if address and backend != "ray":
        raise ConfigError(f"--address names a Ray cluster: it needs --backend ray (got --backend {backend})")
    workers = machine_threads() if workers is None else workers
    if not 1 <= workers <= 4 * machine_threads():
        raise ConfigError(f"workers must be between 1 and {4 * machine_threads()}, got {workers}")
    ray = _ray(address) if backend == "ray" else None
    store = RunStore(runs_dir)
    _register(store, sp)
    if backend == "ray":
        _ingest_strays(store, sp.id)
    done, todo = _todo(store, sp)
    if not todo:
        say(f"sweep {sp.id}: all {len(sp.runs)} runs already finished; nothing to do")
        return sp
    say(f"sweep {sp.id}: {len(sp.runs)} runs, {len(done)} finished, {len(todo)} to run ({backend})")
    t0 = time.perf_counter()
    results = _dispatch(backend, store, sp, todo, workers, ray, quiet)
    status = "finished" if all(r["status"] == "finished" for r in results) else "partial"
    store._write([("UPDATE sweeps SET status = ?, message = ? WHERE id = ?",
                   (status, f"{len(results)} run(s) in {time.perf_counter() - t0:.1f} s", sp.id))])
    bad = [r for r in results if r["status"] != "finished"]
    for r in bad:
        say(f"run {r['index']} ({sp.runs[r['index']]['label']}): {r['status']} - {r['message']}")
    say(f"sweep {sp.id}: {sum(r['status'] == 'finished' for r in results)} of {len(todo)} run(s) finished in "
        f"{time.perf_counter() - t0:.1f} s")
    return sp


def _register(store, sp: SweepPlan) -> None:
    store._write([("INSERT OR IGNORE INTO sweeps (id, spec, created, status) VALUES (?, ?, ?, 'running')",
                   (sp.id, json.dumps({"spec": sp.spec, "experiment": sp.experiment,
                                       "runs": [{k: r[k] for k in ("index", "label", "seed", "overrides")}
                                                for r in sp.runs]}, default=str), time.time()))])


def _todo(store, sp: SweepPlan) -> tuple[list[int], list[tuple[dict, str | None]]]:
    """Finished indices; and the planned runs still to do, with the id of an unfinished run to resume."""
    latest: dict[int, dict] = {}
    for r in store.sweep_runs(sp.id):
        latest[r["sweep_index"]] = r  # the newest run of an index wins
    done, todo = [], []
    for entry in sp.runs:
        row = latest.get(entry["index"])
        if row is not None and row["status"] == "finished":
            done.append(entry["index"])
        elif row is not None and row["status"] in ("running", "interrupted"):
            todo.append((entry, row["id"]))
        else:  # never started, or failed (a failed run is run again from scratch)
            todo.append((entry, None))
    return done, todo


def _dispatch(backend, store, sp, todo, workers, ray, quiet) -> list[dict]:
    from tqdm.auto import tqdm

    root = str(store.root)
    bar = tqdm(total=len(todo), disable=quiet, unit="run", desc=f"sweep {sp.id}", dynamic_ncols=True)
    results = []
    try:
        if backend == "serial":
            for entry, rid in todo:
                results.append(run_one(root, sp.id, entry["index"], sp.experiment, entry["overrides"], rid))
                bar.update()
        elif backend == "local":
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = multiprocessing.get_context("spawn")  # no fork of a process holding torch's threads
            with ProcessPoolExecutor(max_workers=min(workers, max(1, len(todo))), mp_context=ctx,
                                     initializer=_die_with_parent) as pool:
                futures = [pool.submit(run_one, root, sp.id, e["index"], sp.experiment, e["overrides"], rid)
                           for e, rid in todo]
                for fut in as_completed(futures):
                    results.append(fut.result())
                    bar.update()
        else:
            task = ray.remote(num_cpus=1, max_retries=3, retry_exceptions=False)(run_one)
            pending = {task.remote(root, sp.id, e["index"], sp.experiment, e["overrides"], rid, True): e
                       for e, rid in todo}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                entry = pending.pop(ready[0])
                try:
                    res = ray.get(ready[0])
                except Exception as exc:  # the task died more often than Ray retries it
                    res = {"index": entry["index"], "run_id": None, "status": "error",
                           "message": f"worker lost: {str(exc).splitlines()[0][:200]}"}
                results.append(res)
                _ingest_strays(store, sp.id)  # the driver alone writes the index
                bar.update()
    finally:
        bar.close()
    return results


def _ingest_strays(store, sweep_id: str) -> None:
    """Copy into the index every run folder of this sweep whose record differs from the index (Ray)."""
    from freqlens.runs.folder import ingest, read_record
    from freqlens.runs.store import RUN_ID

    indexed = {r["id"]: r["status"] for r in store.sweep_runs(sweep_id)}
    for folder in sorted(store.root.iterdir()):
        if not (folder.is_dir() and RUN_ID.fullmatch(folder.name)):
            continue
        rec = read_record(folder)
        if rec and rec.get("sweep_id") == sweep_id and indexed.get(folder.name) != rec["status"]:
            ingest(store, folder)


def parse_address(address: str) -> tuple[str, int]:
    """``host:port``, ``[ipv6]:port`` or ``ray://host:port`` as ``(host, port)``; one-line refusal otherwise."""
    hostport = address.split("://", 1)[-1]
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]/\s]+):(\d{1,5})", hostport)
    if not m:
        raise ConfigError(f"Ray address must be host:port, [ipv6]:port or ray://host:port, got {address!r}")
    host, port = (m.group(1), int(m.group(2))) if m.group(1) else (m.group(3), int(m.group(4)))
    if not 1 <= port <= 65535:
        raise ConfigError(f"Ray address {address!r}: port must be between 1 and 65535, got {port}")
    return host, port


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """Refuse quickly an address where no Ray cluster answers: nothing listening, or something that does not
    speak gRPC (Ray's head and client servers do; ``ray.init`` would otherwise wait minutes, logging, before it
    gives up). The probe sends HTTP/2's connection preface and expects the server's SETTINGS frame back."""
    import socket

    host, port = parse_address(address)
    fix = "start one with `ray start --head` and pass the address it prints, or leave --address out for a local Ray instance"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); {fix}") from None
    head = b""
    with sock:
        try:
            sock.settimeout(timeout)
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            while len(head) < 9:
                chunk = sock.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
        except OSError:
            pass
    if len(head) < 9 or head[3] != 0x04:  # an HTTP/2 frame header of type SETTINGS
        raise ConfigError(f"{address} answers but is not a Ray cluster (no gRPC reply within {timeout:g} s); {fix}")
    if "://" not in address:  # a head node's GCS: ask for its cluster id (Ray's own first call) with a deadline
        _probe_gcs(f"{host}:{port}" if ":" not in host else f"[{host}]:{port}", address, timeout, fix)


def _probe_gcs(target: str, address: str, timeout: float, fix: str) -> None:
    """A gRPC server that does not implement Ray's GCS service is refused (ray.init would retry it for ~20 s,
    logging a line a second). An authentication error still proves a Ray GCS. grpcio comes with freqlens[ray]
    (and ray[default]); without it only the HTTP/2 check above is made."""
    try:
        import grpc
    except ImportError:
        return

    channel = grpc.insecure_channel(target)
    try:
        call = channel.unary_unary("/ray.rpc.NodeInfoGcsService/GetClusterId",
                                   request_serializer=lambda b: b, response_deserializer=lambda b: b)
        call(b"", timeout=timeout)
    except grpc.RpcError as exc:
        code = exc.code()
        if code in (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.NOT_FOUND):
            raise ConfigError(f"{address} answers gRPC but is not a Ray cluster's head (no GCS service); "
                              f"{fix}") from None
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise ConfigError(f"no Ray cluster answered at {address} within {timeout:g} s; {fix}") from None
    finally:
        channel.close()


def _ray(address: str | None):
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install 'freqlens[ray]' (or pip install ray)") from None
    if address and address != "auto":
        _check_reachable(address)
    if not ray.is_initialized():
        try:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise ConfigError(f"cannot reach {where}: {str(exc).splitlines()[0][:200]} (check the address, or "
                              "start Ray with `ray start --head`)") from None
    return ray


# ---------------------------------------------------------------------------------------------------------------
# Status and report
# ---------------------------------------------------------------------------------------------------------------
def sweep_table(store, sweep_id: str):
    """One row per planned run: index, label, seed, run id, status, wall time."""
    import pandas as pd

    rec = store.get_sweep(sweep_id)
    runs = {r["sweep_index"]: r for r in store.sweep_runs(rec["id"])}
    rows = []
    for entry in rec["spec"]["runs"]:
        r = runs.get(entry["index"])
        wall = store.get_run(r["id"])["wall_time"] if r else None
        rows.append({"index": entry["index"], "config": entry["label"], "seed": entry["seed"],
                     "run": r["id"] if r else "", "status": r["status"] if r else "not started", "wall_time": wall})
    return rec, pd.DataFrame(rows)

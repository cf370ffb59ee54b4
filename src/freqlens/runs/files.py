"""The files of a run folder, written atomically and read back as data - never as code.

Checkpoints hold tensors and plain containers only (numpy arrays travel as tensors) and are loaded with
``torch.load(weights_only=True)``; arrays are ``.npz`` files loaded with ``allow_pickle=False``; records are JSON.
A file that is not what freqlens wrote is refused with one line naming it (:class:`StoreError`).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from freqlens.errors import StoreError
from freqlens.io import atomic_path


def _tensors(obj: Any) -> Any:
    """numpy arrays → tensors, numpy scalars → Python numbers, recursively (what ``weights_only`` admits)."""
    import torch

    if isinstance(obj, np.ndarray) and obj.dtype.kind in "US":  # strings travel as a list
        return [str(v) for v in obj.tolist()]
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: _tensors(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_tensors(v) for v in obj)
    return obj


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors, numpy arrays, numbers, strings, containers) atomically with ``torch.save``."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(_tensors(state), tmp)


def load_checkpoint(path: Path, *, map_location=None, required: tuple[str, ...] = ("step", "model")) -> dict:
    """Load a checkpoint as data (``weights_only=True``); refuse anything else with one line naming the file."""
    import warnings

    import torch

    try:
        with warnings.catch_warnings():  # torch's advice on pickle protocols is noise to a user
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise StoreError(f"checkpoint {path} is missing") from None
    except Exception as exc:  # UnpicklingError for code, RuntimeError/EOFError/zip errors for garbage
        why = "it holds objects other than tensors and plain containers" if "weights_only" in str(exc) \
            or "Unsupported global" in str(exc) else f"{type(exc).__name__}"
        raise StoreError(f"{path} is not a valid freqlens checkpoint ({why}); it was not loaded") from None
    if not isinstance(state, dict) or any(k not in state for k in required):
        raise StoreError(f"{path} is not a valid freqlens checkpoint (it lacks {', '.join(required)})")
    if not isinstance(state["step"], int) or state["step"] < 0:
        raise StoreError(f"{path} is not a valid freqlens checkpoint (bad step {state['step']!r})")
    return state


def save_arrays(path: Path, arrays: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (``allow_pickle=False``); one-line :class:`StoreError` if it is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise StoreError(f"arrays file {path} is missing") from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise StoreError(f"{path} holds Python objects, not arrays; freqlens does not load it") from None
        raise StoreError(f"{path} is not a valid arrays file ({str(exc).splitlines()[0]})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise StoreError(f"{path} is not a valid arrays file ({type(exc).__name__})") from None


def write_json(path: Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise StoreError(f"{path} is missing") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path} is not valid JSON ({type(exc).__name__})") from None


def metrics_to_arrays(history: list[tuple[int, str, str, float | None]]) -> dict[str, np.ndarray]:
    """A member's metrics in long form as plain arrays (names and keys as fixed-width unicode, not objects)."""
    steps = np.array([h[0] for h in history], dtype=np.int64)
    names = np.array([h[1] for h in history], dtype=str) if history else np.zeros(0, dtype="<U1")
    keys = np.array([h[2] for h in history], dtype=str) if history else np.zeros(0, dtype="<U1")
    values = np.array([np.nan if h[3] is None else h[3] for h in history], dtype=np.float64)
    return {"step": steps, "name": names, "key": keys, "value": values}


def arrays_to_metrics(arrays: dict[str, np.ndarray]) -> list[tuple[int, str, str, float | None]]:
    try:
        return [(int(s), str(n), str(k), None if np.isnan(v) else float(v))
                for s, n, k, v in zip(arrays["step"], arrays["name"], arrays["key"], arrays["value"])]
    except KeyError as exc:
        raise StoreError(f"metrics record lacks {exc}") from None

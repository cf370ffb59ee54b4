"""The named experiments of the lab, and how a config is resolved: family defaults ← experiment ← overrides."""

from __future__ import annotations

import dataclasses
from typing import Any

from freqlens.errors import ConfigError
from freqlens.lab.config import coerce
from freqlens.lab.family import EXPERIMENTS, FAMILIES, Experiment, Family

# Importing a family module registers the family and its experiments.
from freqlens.lab.families import fp1d as _fp1d  # noqa: F401  (first: the 1-D lab leads the listings)
from freqlens.lab.families import classify as _classify  # noqa: F401, E402
from freqlens.lab.families import image_fit as _image_fit  # noqa: F401, E402
from freqlens.lab.families import lfp as _lfp  # noqa: F401, E402

__all__ = ["EXPERIMENTS", "FAMILIES", "Experiment", "family_of", "resolve_config", "run_views"]


def family_of(cfg_or_name: Any) -> Family:
    """The family of an experiment name, a config object, or a stored config dict."""
    if isinstance(cfg_or_name, str):
        name = cfg_or_name
    elif isinstance(cfg_or_name, dict):
        name = cfg_or_name.get("experiment", "")
    else:
        name = cfg_or_name.experiment
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; available: {', '.join(EXPERIMENTS)}")
    return FAMILIES[EXPERIMENTS[name].family]


def resolve_config(name: str, overrides: dict[str, Any] | None = None):
    """Defaults ← experiment ``name`` ← ``overrides`` (typed or strings), validated. Raises ConfigError."""
    family = family_of(name)
    cls = family.config
    values = {k: coerce(cls, k, v) for k, v in EXPERIMENTS[name].settings.items()}
    for key, value in (overrides or {}).items():
        if key == "experiment":
            raise ConfigError("experiment is chosen by name, not by an override")
        values[key] = coerce(cls, key, value)
    cfg = dataclasses.replace(cls(), experiment=name, **values)
    cfg.check_overrides(set(overrides or {}))
    return cfg.validate()


def run_views(cfg) -> list[dict]:
    """The views stored with a run of ``cfg``: the experiment's description, then its family's views."""
    about = [{"kind": "about", "text": EXPERIMENTS[cfg.experiment].description}] if cfg.experiment in EXPERIMENTS \
        else []
    return about + family_of(cfg).views(cfg)

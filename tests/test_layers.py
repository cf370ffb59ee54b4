"""Imports point one way, and no module reaches into another's private names (the whole package).

The rules, read from the source with ``ast`` (every import statement, at module level and inside functions):

- no ``from freqlens.x import _name`` and no ``module._name`` on an imported freqlens module, across modules;
- a private module ``freqlens.pkg._m`` is imported only from inside ``freqlens.pkg`` (``freqlens._m`` helpers
  from anywhere);
- layers, from the bottom: the helpers (``_arrays``, ``_memory``, ``errors``, ``io``, ``_version``) < ``spectrum``
  < ``conv`` < ``runs`` < ``report`` < ``lab`` < ``api`` < ``cli``; a module imports only its own layer and the
  layers below (the package root ``freqlens/__init__.py`` is the facade over all of them);
- a CLI module loads only the standard library, typer/click, ``freqlens.errors`` and other CLI modules when it is
  imported; everything else is imported inside the command that uses it (so ``freqlens --help`` stays cheap).

The package is found through ``freqlens.__file__``, so the test checks whichever source tree is on the path.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import freqlens

PACKAGE = Path(freqlens.__file__).parent
HELPERS = {"freqlens", "freqlens._arrays", "freqlens._memory", "freqlens.errors", "freqlens.io", "freqlens._version"}
ORDER = ["helpers", "spectrum", "conv", "runs", "report", "lab", "api", "cli"]
ALLOWED = {layer: set(ORDER[: i + 1]) for i, layer in enumerate(ORDER)}  # a layer and everything below it
CLI_TOP_LEVEL = {"typer", "click"}  # besides the standard library, freqlens.errors and freqlens.cli.*


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name: str) -> str | None:
    if name in HELPERS:
        return "helpers"
    parts = name.split(".")
    if parts[0] != "freqlens":
        return None
    if len(parts) > 1 and parts[1] == "__main__":
        return "cli"
    return parts[1] if len(parts) > 1 else "helpers"


def is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module of a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def check_source(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Every broken rule in one module's source, as ``'module: what'`` lines."""
    tree = ast.parse(source)
    layer = "root" if module == "freqlens" else layer_of(module)
    problems: list[str] = []
    module_aliases: set[str] = set()  # local names bound to freqlens modules by `import freqlens.x as m`
    top_level = {id(node) for node in tree.body}

    def check_target(target: str, names: list[str], node: ast.AST) -> None:
        if not target.startswith("freqlens"):
            if layer == "cli" and id(node) in top_level:
                root = target.split(".")[0]
                if root not in CLI_TOP_LEVEL and root not in sys.stdlib_module_names:
                    problems.append(f"{module}: imports {target} at module level (import it inside the command)")
            return
        parts = target.split(".")
        for i, part in enumerate(parts[1:], start=1):
            if is_private(part):
                owner = ".".join(parts[:i])
                if owner != "freqlens" and not (module == owner or module.startswith(owner + ".")):
                    problems.append(f"{module}: imports the private module {target} from outside {owner}")
                break
        for name in names:
            if is_private(name) and f"{target}.{name}" not in HELPERS:
                problems.append(f"{module}: imports the private name {name} from {target}")
        target_layer = layer_of(target)
        if layer in ALLOWED and target_layer is not None and target_layer not in ALLOWED[layer]:
            problems.append(f"{module}: {layer} must not import {target} ({target_layer})")
        if layer == "cli" and id(node) in top_level and target != "freqlens.errors" \
                and not target.startswith("freqlens.cli"):
            problems.append(f"{module}: imports {target} at module level (import it inside the command)")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check_target(alias.name, [], node)
                if alias.name.startswith("freqlens"):
                    module_aliases.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            target = resolve(node, module, is_package)
            if target == "__future__":
                continue
            names = [a.name for a in node.names]
            if target == "freqlens":  # `from freqlens import x`: a module of the package, or a name of its root
                for name in names:
                    where = PACKAGE / name
                    if where.with_suffix(".py").exists() or (where / "__init__.py").exists():
                        check_target(f"freqlens.{name}", [], node)
                    elif layer not in ("root", "api", "cli"):
                        problems.append(f"{module}: imports {name} from the package root (import it from "
                                        "the module that defines it)")
            else:
                check_target(target, names, node)
            for a in node.names:  # `from freqlens.conv import core` binds a module
                where = PACKAGE.parent / Path(*f"{target}.{a.name}".split("."))
                if target.startswith("freqlens") and (where.with_suffix(".py").exists()
                                                      or (where / "__init__.py").exists()):
                    module_aliases.add(a.asname or a.name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases and is_private(node.attr)):
            problems.append(f"{module}: uses the private name {node.value.id}.{node.attr}")
    return problems


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    for path in all_modules():
        name = module_name(path)
        assert name == "freqlens" or layer_of(name) in ORDER, name


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_point_one_way_and_stay_public(path):
    problems = check_source(path.read_text(), module_name(path), is_package=path.name == "__init__.py")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source, module, expected", [
    ("from freqlens.spectrum.dft import _to_numpy", "freqlens.conv.filters", "private name _to_numpy"),
    ("from freqlens.conv.core import _make_plan", "freqlens.conv.explain", "private name _make_plan"),
    ("import freqlens.conv.core as core\ncore._lift_numpy(1, 'x')", "freqlens.conv.layer", "core._lift_numpy"),
    ("from freqlens.conv import core\ncore._x", "freqlens.conv.layer", "core._x"),
    ("from freqlens import spectrum\nspectrum._y", "freqlens.conv.layer", "spectrum._y"),
    ("from .core import _apply", "freqlens.conv.explain", "private name _apply from freqlens.conv.core"),
    ("from freqlens.conv._plan import make_plan", "freqlens.spectrum.image", "private module freqlens.conv._plan"),
    ("from freqlens.conv._plan import make_plan", "freqlens.cli.conv", "private module freqlens.conv._plan"),
    ("from freqlens.conv import convolve", "freqlens.spectrum.image", "spectrum must not import freqlens.conv"),
    ("def f():\n    from freqlens.conv import convolve", "freqlens.spectrum.image", "spectrum must not import"),
    ("from freqlens.lab import run", "freqlens.conv.core", "conv must not import freqlens.lab"),
    ("from freqlens.spectrum import dft", "freqlens.io", "helpers must not import freqlens.spectrum"),
    ("from freqlens.lab import run", "freqlens.report.run", "report must not import freqlens.lab"),
    ("def f():\n    from freqlens.api import run", "freqlens.lab", "lab must not import freqlens.api"),
    ("from freqlens.report import build_report", "freqlens.runs.store", "runs must not import freqlens.report"),
    ("from freqlens import __version__", "freqlens.runs.store", "from the package root"),
    ("from freqlens import lab", "freqlens.runs.store", "runs must not import freqlens.lab"),
    ("import numpy as np", "freqlens.cli.images", "imports numpy at module level"),
    ("from freqlens.io import read_image", "freqlens.cli.images", "imports freqlens.io at module level"),
])
def test_the_checker_catches_each_kind_of_violation(source, module, expected):
    problems = check_source(source, module)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("source, module", [
    ("from freqlens.conv._plan import make_plan", "freqlens.conv.core"),
    ("from freqlens.conv.apps._common import positive", "freqlens.conv.apps.dna"),
    ("from freqlens._memory import refuse_if_too_big", "freqlens.spectrum._common"),
    ("from freqlens.spectrum import radial_frequency", "freqlens.conv.masks"),
    ("from freqlens.runs.store import RunStore", "freqlens.lab.runner"),
    ("from freqlens import _memory", "freqlens.lab.data._common"),
    ("def f():\n    from freqlens.report.run import load_run", "freqlens"),
    ("from __future__ import annotations\nimport sys\nimport typer\nfrom freqlens.errors import FreqlensError\n"
     "from freqlens.cli._common import load_image\ndef f():\n    import numpy as np\n    from freqlens.io import "
     "read_image", "freqlens.cli.images"),
])
def test_the_checker_accepts_what_the_rules_allow(source, module):
    assert check_source(source, module) == []

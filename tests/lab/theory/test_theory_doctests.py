"""The docstring examples of the theory modules run and hold."""

import doctest
import importlib

import pytest

MODULES = [
    "freqlens.lab.theory.ntk",
    "freqlens.lab.theory.infinite",
    "freqlens.lab.theory.linearized",
    "freqlens.lab.theory.lfp",
    "freqlens.lab.theory.fpnorm",
    "freqlens.lab.theory.interpolation",
    "freqlens.report.figures_theory",
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.rsplit(".", 1)[-1])
def test_docstring_examples(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

"""The docstring examples of the theory modules run and hold."""

import doctest
import importlib

import pytest

MODULES = ["ntk", "infinite", "linearized", "lfp", "fpnorm", "interpolation", "figures"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    mod = importlib.import_module(f"freqlens.lab.theory.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

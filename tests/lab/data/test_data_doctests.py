"""The docstring examples of the data modules run and hold."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["idx", "cifar", "sources", "datasets", "_common"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"freqlens.lab.data.{module}"),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

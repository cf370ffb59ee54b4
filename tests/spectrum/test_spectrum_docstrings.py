"""The docstring examples of the spectrum modules split out of spectrum/image.py run and hold."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module, at_least", [
    ("freqlens.spectrum.power_law", 5),
    ("freqlens.spectrum.theorem", 3),
])
def test_docstring_examples(module, at_least):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= at_least and result.failed == 0

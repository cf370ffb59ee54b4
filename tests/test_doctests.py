"""The docstring examples of the lab and the Fourier convention run and hold."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["freqlens.spectrum.dft", "freqlens.lab.monitors.frequency", "freqlens.lab.monitors.base"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

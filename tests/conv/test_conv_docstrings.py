"""The docstring examples of the conv modules the split created (and of the shared memory guard) run and hold."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module, at_least", [
    ("freqlens.conv.masks", 2),
    ("freqlens.conv._args", 3),
    ("freqlens._memory", 3),
    ("freqlens._arrays", 2),
])
def test_docstring_examples(module, at_least):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= at_least and result.failed == 0

"""The spectrum modules split out of spectrum/image.py: their docstring examples run, old imports still work."""

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


@pytest.mark.parametrize("name, module", [
    ("PowerLawFit", "power_law"), ("fit_power_law", "power_law"), ("power_law_noise", "power_law"),
    ("ConvolutionTheoremCheck", "theorem"), ("convolution_theorem", "theorem"),
    ("plot_log_magnitude", "plots"), ("plot_radial_power", "plots"),
])
def test_names_moved_out_of_spectrum_image_still_import_from_it(name, module):
    import freqlens.spectrum as package
    import freqlens.spectrum.image as image

    moved = getattr(importlib.import_module(f"freqlens.spectrum.{module}"), name)
    assert getattr(image, name) is moved is getattr(package, name)
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        image.not_there  # noqa: B018

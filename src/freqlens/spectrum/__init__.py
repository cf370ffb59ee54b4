"""The frequency view: the Fourier convention (:mod:`freqlens.spectrum.dft`), spectra, non-uniform DFTs."""

from freqlens.spectrum.dft import dft, frequencies, nudft, periodic_grid, spectrum_peaks
from freqlens.spectrum.image import (
    ConvolutionTheoremCheck,
    PowerLawFit,
    Spectrum2D,
    convolution_theorem,
    dft2,
    energy_fraction,
    fit_power_law,
    log_magnitude,
    plot_log_magnitude,
    plot_radial_power,
    power_law_noise,
    radial_frequency,
    radial_power,
)

__all__ = [
    "ConvolutionTheoremCheck",
    "PowerLawFit",
    "Spectrum2D",
    "convolution_theorem",
    "dft",
    "dft2",
    "energy_fraction",
    "fit_power_law",
    "frequencies",
    "log_magnitude",
    "nudft",
    "periodic_grid",
    "plot_log_magnitude",
    "plot_radial_power",
    "power_law_noise",
    "radial_frequency",
    "radial_power",
    "spectrum_peaks",
]

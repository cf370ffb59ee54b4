"""The frequency view: the Fourier convention, spectra of images, power laws, the convolution theorem.

- :mod:`~freqlens.spectrum.dft` - the Fourier convention (written once), 1-D DFT, non-uniform DFT, spectral peaks.
- :mod:`~freqlens.spectrum.image` - the 2-D DFT with its frequency axes, radial frequency and power, energy share.
- :mod:`~freqlens.spectrum.power_law` - ``1 / f**alpha`` fits of radial spectra, power-law noise images.
- :mod:`~freqlens.spectrum.theorem` - the convolution theorem checked numerically.
- :mod:`~freqlens.spectrum.plots` - log-magnitude and radial-power figures.
"""

from freqlens.spectrum.dft import dft, frequencies, nudft, periodic_grid, spectrum_peaks
from freqlens.spectrum.image import Spectrum2D, dft2, energy_fraction, log_magnitude, radial_frequency, radial_power
from freqlens.spectrum.plots import plot_log_magnitude, plot_radial_power
from freqlens.spectrum.power_law import PowerLawFit, fit_power_law, power_law_noise
from freqlens.spectrum.theorem import ConvolutionTheoremCheck, convolution_theorem

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

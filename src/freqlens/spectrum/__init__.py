"""The frequency view: the Fourier convention (:mod:`freqlens.spectrum.dft`), spectra, non-uniform DFTs."""

from freqlens.spectrum.dft import dft, frequencies, nudft, periodic_grid, spectrum_peaks

__all__ = ["dft", "frequencies", "nudft", "periodic_grid", "spectrum_peaks"]

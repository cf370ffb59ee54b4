"""CLI: ``freqlens spectrum IMAGE`` - power-law exponent, low-frequency energy share, spectrum plots."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import typer

from freqlens.errors import FreqlensError


def register(app: typer.Typer) -> None:
    """Add ``spectrum`` to the app."""

    @app.command("spectrum")
    def spectrum_cmd(
        image: Optional[Path] = typer.Argument(None, help="Image file (converted to grey levels)."),
        sample: Optional[str] = typer.Option(None, "--sample", help="A bundled scikit-image picture, e.g. camera."),
        out: Path = typer.Option(Path("."), "--out", "-o", help="Folder for the plots (created if missing)."),
        band: Optional[Tuple[float, float]] = typer.Option(
            None, "--band", help="Fit band FMIN FMAX in cycles/pixel (default: max(4/n, 0.01) .. 0.4)."
        ),
        radius: float = typer.Option(0.1, "--radius", help="Low-frequency radius for the energy share (cycles/pixel)."),
        window: str = typer.Option("hann", "--window", help="Window before the DFT: hann, hamming, blackman or none."),
    ) -> None:
        """Print the power-law exponent alpha (P ~ 1/f^alpha), its R^2 and the low-frequency energy share; plot."""
        from freqlens.io import read_image, sample_image
        from freqlens.spectrum import energy_fraction, fit_power_law, plot_log_magnitude, plot_radial_power

        if (image is None) == (sample is None):
            raise FreqlensError("give exactly one of IMAGE or --sample NAME")
        if image is not None:
            img = read_image(image, as_gray=True)
            stem, label = image.stem, str(image)
        else:
            img = sample_image(sample, as_gray=True)
            stem, label = sample, f"sample {sample}"
        win = None if window.lower() == "none" else window
        fit = fit_power_law(img, band, window=win)
        share = energy_fraction(img, radius, exclude_dc=True)
        typer.echo(f"image: {label} ({img.shape[0]}x{img.shape[1]}, grey levels)")
        typer.echo(
            f"power law P(f) ~ 1/f^alpha over {fit.band[0]:.4g}-{fit.band[1]:.4g} cycles/pixel "
            f"({window} window, {fit.n_bins} annuli): alpha = {fit.alpha:.3f}, R^2 = {fit.r2:.4f}"
        )
        typer.echo(
            f"low-frequency energy share (|f| <= {radius:g} cycles/pixel, mean removed): {100 * share:.1f} %"
        )
        out.mkdir(parents=True, exist_ok=True)
        spec_path = out / f"{stem}_spectrum.png"
        radial_path = out / f"{stem}_radial_power.png"
        plot_log_magnitude(img, window=win, title=f"{stem}: log-magnitude spectrum", path=spec_path)
        plot_radial_power(fit, title=f"{stem}: radial power spectrum", path=radial_path)
        typer.echo(f"wrote {spec_path}")
        typer.echo(f"wrote {radial_path}")

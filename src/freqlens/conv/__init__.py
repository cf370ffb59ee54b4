"""Convolution and correlation with explicit conventions (see ``shared`` CONVENTIONS)."""

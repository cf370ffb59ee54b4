"""Models of the lab (torch.nn, written here; no torchvision)."""

from freqlens.lab.models.mlp import ACTIVATIONS, Sin, mlp

__all__ = ["ACTIVATIONS", "Sin", "mlp"]

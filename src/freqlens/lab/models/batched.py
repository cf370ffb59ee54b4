"""Many seeds of one multilayer perceptron trained as one model: the weights of S networks stacked along a first
axis, applied to shared inputs with batched matrix products.

Small networks leave a CPU (and, far more, a GPU) idle between kernel launches; stacking S members makes each
launch do S times the work. Member ``s`` of :meth:`BatchedMLP.from_seeds` is initialised exactly as
``mlp(..., generator=torch.Generator().manual_seed(seeds[s]))``, :func:`stacked_mse` gives each member the gradient
of its own mean loss, and elementwise optimizers (Adam, SGD, RMSprop) then update every member as a separate run
would; :meth:`BatchedMLP.member_state_dicts` splits the result back into S state dicts of ``mlp`` networks.

>>> import torch
>>> from freqlens.lab.models.mlp import mlp
>>> net = BatchedMLP.from_seeds(1, [8, 8], 1, seeds=[3, 4], init="normal", dtype=torch.float64)
>>> x = torch.linspace(-3, 3, 5, dtype=torch.float64).unsqueeze(1)
>>> alone = mlp(1, [8, 8], 1, init="normal", generator=torch.Generator().manual_seed(4), dtype=torch.float64)
>>> net(x).shape, bool(torch.allclose(net(x)[1], alone(x), rtol=0, atol=1e-14))
(torch.Size([2, 5, 1]), True)
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from freqlens.errors import ConfigError
from freqlens.lab.models.mlp import ACTIVATIONS, mlp


def batched_memory_bytes(members: int, dims: Sequence[int], points: int, *, dtype: torch.dtype = torch.float32,
                         optimizer_states: int = 2) -> int:
    """Peak memory of training ``members`` stacked networks with layer sizes ``dims`` on ``points`` inputs.

    Notes
    -----
    Parameters, gradients and ``optimizer_states`` moment buffers (Adam: 2), plus the activations autograd keeps
    (two tensors of ``members × points × width`` per hidden layer, one for the output).
    """
    size = torch.finfo(dtype).bits // 8
    params = sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))
    acts = 2 * sum(dims[1:-1]) + dims[-1] + dims[0]
    return int(members) * ((2 + optimizer_states) * params + int(points) * acts) * size


def check_batched_memory(members: int, dims: Sequence[int], points: int, *, dtype: torch.dtype = torch.float32,
                         available: int | None = None) -> None:
    """Refuse, with the figures, a stack of networks that does not fit in the memory available."""
    if available is None:
        from freqlens._memory import available_memory

        available = available_memory()
    need = batched_memory_bytes(members, dims, points, dtype=dtype)
    if need > available:
        raise ConfigError(f"{members} stacked {'-'.join(map(str, dims))} networks on {points:,} points need about "
                          f"{need / 2**30:.1f} GiB but {available / 2**30:.1f} GiB are available; stack fewer seeds")


class BatchedMLP(nn.Module):
    """S multilayer perceptrons of one architecture with their parameters stacked.

    Parameters
    ----------
    weights : list of Tensor
        Layer ``l``'s weights of every member, shape ``(S, out_l, in_l)`` (``nn.Linear``'s layout per member).
    biases : list of Tensor
        Shape ``(S, out_l)``.
    activation : str
        One of :data:`freqlens.lab.models.mlp.ACTIVATIONS`, between layers (not after the last).

    Notes
    -----
    ``forward(x)`` with ``x`` of shape ``(n, in)`` (shared by every member) or ``(S, n, in)`` returns
    ``(S, n, out)``; layer ``l`` computes ``h ← baddbmm(b_l, h, W_lᵀ)``, i.e. for member ``s``
    ``h_s W_{l,s}ᵀ + b_{l,s}``, the ``nn.Linear`` of that member. Members never mix: the gradient of
    :func:`stacked_mse` with respect to member ``s``'s parameters is the gradient of ``s``'s own mean loss.
    """

    def __init__(self, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], activation: str = "tanh"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
        if not weights or len(weights) != len(biases):
            raise ValueError(f"weights and biases must list the same layers, got {len(weights)} and {len(biases)}")
        members = weights[0].shape[0]
        for i, (w, b) in enumerate(zip(weights, biases)):
            if w.dim() != 3 or b.dim() != 2 or w.shape[0] != members or b.shape != (members, w.shape[1]):
                raise ValueError(f"layer {i}: weights must be (S, out, in) and biases (S, out) for S={members}, got "
                                 f"{tuple(w.shape)} and {tuple(b.shape)}")
            if i and w.shape[2] != weights[i - 1].shape[1]:
                raise ValueError(f"layer {i} takes {w.shape[2]} inputs but layer {i - 1} gives "
                                 f"{weights[i - 1].shape[1]}")
        self.weights = nn.ParameterList([nn.Parameter(w.detach().clone()) for w in weights])
        self.biases = nn.ParameterList([nn.Parameter(b.detach().clone()) for b in biases])
        self.activation = activation
        self.act = ACTIVATIONS[activation]()

    # -- construction --------------------------------------------------------------------------------------
    @classmethod
    def from_models(cls, models: Sequence[nn.Sequential], activation: str = "tanh") -> "BatchedMLP":
        """Stack networks built by :func:`~freqlens.lab.models.mlp.mlp` (same sizes); copies their parameters."""
        if not models:
            raise ValueError("models must hold at least one network")
        layers = [[m for m in net if isinstance(m, nn.Linear)] for net in models]
        if len({tuple((lin.out_features, lin.in_features) for lin in ls) for ls in layers}) != 1:
            raise ValueError("every model must have the same layer sizes")
        weights = [torch.stack([ls[i].weight.detach() for ls in layers]) for i in range(len(layers[0]))]
        biases = [torch.stack([ls[i].bias.detach() for ls in layers]) for i in range(len(layers[0]))]
        return cls(weights, biases, activation)

    @classmethod
    def from_seeds(cls, in_dim: int, hidden: list[int], out_dim: int, *, seeds: Sequence[int],
                   activation: str = "tanh", init: str = "default", init_std: float = 0.0,
                   dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                   points: int = 0) -> "BatchedMLP":
        """Member ``s`` = ``mlp(in_dim, hidden, out_dim, ..., generator=torch.Generator().manual_seed(seeds[s]))``
        (each drawn from its own generator, exactly as alone). ``points``: training inputs, for the memory check
        made before anything is allocated."""
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ValueError("seeds must hold at least one seed")
        check_batched_memory(len(seeds), [in_dim, *hidden, out_dim], max(int(points), 1), dtype=dtype)
        nets = [mlp(in_dim, hidden, out_dim, activation=activation, init=init, init_std=init_std,
                    generator=torch.Generator().manual_seed(s), dtype=dtype, device=device) for s in seeds]
        return cls.from_models(nets, activation)

    # -- use -----------------------------------------------------------------------------------------------
    @property
    def members(self) -> int:
        return self.weights[0].shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            h = x.unsqueeze(0).expand(self.members, *x.shape)
        elif x.dim() == 3 and x.shape[0] == self.members:
            h = x
        else:
            raise ValueError(f"x must be (n, in) or ({self.members}, n, in), got {tuple(x.shape)}")
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if i < last:
                h = self.act(h)
        return h

    def member_state_dicts(self) -> list[dict[str, torch.Tensor]]:
        """One state dict per member, with the keys of the ``mlp`` network it stands for (``"0.weight"``,
        ``"0.bias"``, ``"2.weight"``, ...; copies)."""
        out = []
        for s in range(self.members):
            sd = {}
            for i, (w, b) in enumerate(zip(self.weights, self.biases)):
                sd[f"{2 * i}.weight"] = w[s].detach().clone()
                sd[f"{2 * i}.bias"] = b[s].detach().clone()
            out.append(sd)
        return out

    def member(self, s: int) -> nn.Sequential:
        """Member ``s`` as a standalone ``mlp`` network (a copy)."""
        dims = [self.weights[0].shape[2], *[w.shape[1] for w in self.weights]]
        w0 = self.weights[0]
        net = mlp(dims[0], dims[1:-1], dims[-1], activation=self.activation, init="xavier",
                  generator=torch.Generator().manual_seed(0), dtype=w0.dtype, device=w0.device)
        net.load_state_dict(self.member_state_dicts()[s])
        return net


def stacked_mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over members of each member's mean squared error: ``Σ_s mean((outputs[s] − targets)²)``.

    ``outputs`` is ``(S, n, out)``; ``targets`` is ``(n, out)`` (shared) or ``(S, n, out)``. The gradient with
    respect to member ``s``'s outputs is ``2 (outputs[s] − targets) / (n·out)``, that of its own
    :func:`freqlens.lab.family.mse`.
    """
    return member_mse(outputs, targets).sum()


def member_mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Each member's mean squared error, shape ``(S,)``."""
    return torch.mean((outputs - targets) ** 2, dim=tuple(range(1, outputs.dim())))

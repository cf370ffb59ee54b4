"""Train the seeds of one variant as one stacked model: S members, one :class:`~freqlens.lab.models.batched.BatchedMLP`,
one optimizer over the stacked parameters, each member's monitors, records and checkpoints as if it ran alone.

Small networks leave the hardware idle between kernel launches; stacking S members makes each launch do S times the
work (``benchmarks/bench_batched_seeds.py`` measures when it pays). Everything but the parameter update stays per
member: at each step boundary the stacked forward pass gives member ``s`` its outputs and its own loss, which go to
its :class:`~freqlens.lab.train.Trainer` exactly as a full-batch :class:`~freqlens.lab.optim.torch_optim.TorchOptimizer`
would pass them. Before an evaluation or a checkpoint, member ``s``'s own network receives its slice of the stacked
weights, and before a checkpoint its own torch optimizer receives its slice of the stacked optimizer state - so a
member's checkpoint has the format of a member trained alone, and a resumed run stacks the members' checkpoints
again (bit for bit the state it had).

The gradient of the summed member losses with respect to member ``s``'s parameters is the gradient of its own
loss, and Adam, SGD and RMSprop update elementwise, so each member follows its separate run; the numbers agree to
rounding (float64: within 1e-12; float32: the last bits of the batched products differ), not bit for bit, which
is why the fp1d family says so in its config (``batch_seeds``: on, off, or auto - where it pays).
"""

from __future__ import annotations

import contextlib
import time

import torch

from freqlens.errors import DivergedError
from freqlens.lab.models.batched import BatchedMLP, member_mse
from freqlens.lab.optim.base import StepInfo
from freqlens.lab.optim.torch_optim import make_torch_optimizer


def _order(net: BatchedMLP) -> list[tuple[int, str, int]]:
    """Stacked parameter index -> (member parameter index in ``mlp``'s order, kind, layer)."""
    layers = len(net.weights)
    return [(2 * i, "weight", i) for i in range(layers)] + [(2 * i + 1, "bias", i) for i in range(layers)]


def split_state(state: dict, net: BatchedMLP, s: int) -> dict:
    """Member ``s``'s torch optimizer state dict from the stacked optimizer's (same hyper-parameters; tensors of
    the stacked parameters' shape are sliced, others - Adam's step counter - copied)."""
    order = _order(net)
    members = net.members
    out_state = {}
    for j, per in state["state"].items():
        k = order[int(j)][0]
        out_state[k] = {key: (v[s].clone() if torch.is_tensor(v) and v.dim() > 0 and v.shape[0] == members
                              else (v.clone() if torch.is_tensor(v) else v)) for key, v in per.items()}
    groups = [{**g, "params": sorted(order[int(j)][0] for j in g["params"])} for g in state["param_groups"]]
    return {"state": out_state, "param_groups": groups}


def stack_states(states: list[dict], net: BatchedMLP) -> dict:
    """The stacked optimizer's state dict from the members' (the inverse of :func:`split_state`)."""
    order = _order(net)
    stacked = {}
    for j, (k, _, _) in enumerate(order):
        pers = [st["state"].get(k) for st in states]
        if any(p is None for p in pers):
            continue
        stacked[j] = {key: (torch.stack([p[key] for p in pers]) if torch.is_tensor(v) and v.dim() > 0
                            else (v.clone() if torch.is_tensor(v) else v)) for key, v in pers[0].items()}
    group = states[0]["param_groups"][0]
    return {"state": stacked, "param_groups": [{**group, "params": list(range(len(order)))}]}


def run_lockstep(runs: list) -> None:
    """Train ``runs`` (:class:`~freqlens.lab.runner.MemberRun` objects of one variant, different seeds, the same
    start step) as one stacked model; each member ends finished, failed or interrupted as it would alone."""
    trainers = [r.prepare() for r in runs]
    for r in runs:  # each member is charged its share of the group's time, in checkpoints too (a run's time is
        r.share = 1.0 / len(runs)  # the sum of its members')
    t0 = time.perf_counter()
    for r in runs:
        r.t_start = t0
    first = runs[0]
    cfg = first.m.cfg
    start = first.start
    problem = first.problem
    net = BatchedMLP.from_models([r.problem.model for r in runs], activation=cfg.activation)
    opt = make_torch_optimizer(cfg.optimizer, net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                               nesterov=cfg.nesterov)
    if start:
        opt.load_state_dict(stack_states([r.optimizer.optimizer.state_dict() for r in runs], net))
    x, y = problem.x, problem.y
    seeds = [r.m.seed for r in runs]
    first.bar.set_description(cfg.experiment + (f" {first.m.label}" if first.m.label else "")
                              + f" seeds {seeds[0]}-{seeds[-1]} stacked", refresh=False)
    threads_before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    current = None
    try:
        for step in range(start, cfg.steps + 1):
            outputs = net(x)
            losses = member_mse(outputs, y)
            checkpoint = start < step < cfg.steps and step % cfg.checkpoint_every == 0
            if checkpoint or step % cfg.eval_every == 0 or step == cfg.steps:
                _sync(net, opt, runs, optimizer_state=checkpoint)
            for s, (run, trainer) in enumerate(zip(runs, trainers)):
                current = (run, trainer)
                trainer.on_step(step, StepInfo(loss=losses[s].detach(), outputs=outputs[s].detach(),
                                               evaluations=step + 1, iterations=step))
            current = None
            if step == cfg.steps:
                break
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step()
        for trainer in trainers:
            trainer.flush(complete=True, final=True)
    except BaseException as exc:
        # the member whose step diverged is recorded as failed, as it would be alone; every member keeps what it
        # measured (a resume continues from the last checkpoint)
        for run, trainer in zip(runs, trainers):
            if isinstance(exc, DivergedError) and current is not None and run is current[0]:
                run.record_failure(trainer)
            else:
                with contextlib.suppress(Exception):
                    trainer.flush()
        raise
    finally:
        torch.set_num_threads(threads_before)
    _sync(net, opt, runs, optimizer_state=False)
    for run in runs:
        run.finish(cfg.steps)


@torch.no_grad()
def _sync(net: BatchedMLP, opt: torch.optim.Optimizer, runs: list, *, optimizer_state: bool) -> None:
    """Copy member ``s``'s slice of the stacked weights (and optimizer state) into its own network (optimizer)."""
    states = net.member_state_dicts()
    stacked = opt.state_dict() if optimizer_state else None
    for s, run in enumerate(runs):
        run.problem.model.load_state_dict(states[s])
        if stacked is not None:
            run.optimizer.optimizer.load_state_dict(split_state(stacked, net, s))

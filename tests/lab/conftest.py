"""Helpers shared by the lab's tests."""

import pytest


def interrupted_run(monkeypatch, monitor_cls, step, experiment, runs_dir, **settings):
    """Run ``experiment`` into ``runs_dir`` with Ctrl-C arriving when ``monitor_cls`` records ``step`` (after
    the checkpoints before it were written); return the id of the interrupted run."""
    import freqlens.lab as lab

    original = monitor_cls.record

    def crash(self, at, outputs, loss=None):
        if at == step:
            raise KeyboardInterrupt
        return original(self, at, outputs, loss)

    monkeypatch.setattr(monitor_cls, "record", crash)
    with pytest.raises(KeyboardInterrupt):
        lab.run(experiment, runs_dir=runs_dir, **settings)
    monkeypatch.undo()
    (rid,) = [p.name for p in runs_dir.iterdir() if p.is_dir()]
    return rid

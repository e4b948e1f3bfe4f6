"""Resume state on disk: a kill at any point of a save leaves a consistent earlier state."""

from __future__ import annotations

import os

import pytest
import torch

from xtransfer.training import resume
from xtransfer.training.loop import linear_schedule


def _setup(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    return model, optimizer, linear_schedule(optimizer, 1, 100)


def _train_step(model, optimizer, scheduler) -> None:
    model(torch.randn(2, 4)).sum().backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def test_round_trip_restores_weights_optimizer_and_step(tmp_path):
    model, optimizer, scheduler = _setup(0)
    _train_step(model, optimizer, scheduler)
    resume.save_resume_state(tmp_path, model, optimizer, scheduler, {"step": 1}, None)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    fresh, fresh_opt, fresh_sched = _setup(1)
    progress, best = resume.load_resume_state(tmp_path, fresh, fresh_opt, fresh_sched)
    assert progress == {"step": 1} and best is None
    assert all(torch.equal(saved[k], v) for k, v in fresh.state_dict().items())
    assert fresh_sched.last_epoch == scheduler.last_epoch
    assert [p.name for p in tmp_path.glob("tensors*")] == ["tensors-step1.safetensors"]


def test_kill_before_the_state_switch_keeps_the_previous_state(tmp_path, monkeypatch):
    model, optimizer, scheduler = _setup(0)
    _train_step(model, optimizer, scheduler)
    resume.save_resume_state(tmp_path, model, optimizer, scheduler, {"step": 1}, None)
    at_step_1 = {k: v.clone() for k, v in model.state_dict().items()}
    _train_step(model, optimizer, scheduler)

    real_replace = os.replace

    def killed_at_state_switch(src, dst):
        if str(dst).endswith(resume.STATE_FILE):
            raise KeyboardInterrupt  # the process dies between the two writes
        return real_replace(src, dst)

    monkeypatch.setattr(resume.os, "replace", killed_at_state_switch)
    with pytest.raises(KeyboardInterrupt):
        resume.save_resume_state(tmp_path, model, optimizer, scheduler, {"step": 2}, None)
    monkeypatch.setattr(resume.os, "replace", real_replace)

    fresh, fresh_opt, fresh_sched = _setup(1)
    progress, _ = resume.load_resume_state(tmp_path, fresh, fresh_opt, fresh_sched)
    assert progress["step"] == 1  # the state and its tensors belong together
    assert all(torch.equal(at_step_1[k], v) for k, v in fresh.state_dict().items())

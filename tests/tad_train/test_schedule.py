"""The learning-rate schedule against OpenTAD's recursive LinearWarmupCosineAnnealingLR."""

from __future__ import annotations

import math

import pytest
import torch

from tad_train import WarmupCosineSchedule


def opentad_rates(base: float, warmup: int, total: int, eta_min: float, steps: int) -> list[float]:
    """OpenTAD's chainable form (opentad/cores/scheduler.py), step by step, written from its formulas."""
    rates, lr = [], 0.0
    for k in range(steps):
        if k == 0:
            lr = 0.0
        elif k < warmup:
            lr = lr + base / (warmup - 1)
        elif k == warmup:
            lr = base
        elif (k - 1 - total) % (2 * (total - warmup)) == 0:
            lr = lr + (base - eta_min) * (1 - math.cos(math.pi / (total - warmup))) / 2
        else:
            lr = (1 + math.cos(math.pi * (k - warmup) / (total - warmup))) / (
                1 + math.cos(math.pi * (k - warmup - 1) / (total - warmup))
            ) * (lr - eta_min) + eta_min
        rates.append(lr)
    return rates


def _rates(schedule: WarmupCosineSchedule, steps: int) -> list[float]:
    rates = []
    for _ in range(steps):
        rates.append(schedule.last_lr()[0])
        schedule.step()
    return rates


@pytest.mark.parametrize(("warmup", "total", "steps"), [(50, 1000, 600), (5, 20, 20), (2, 10, 10)])
def test_rates_equal_opentads_recursion(warmup: int, total: int, steps: int) -> None:
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
    ours = _rates(WarmupCosineSchedule(optimizer, warmup, total, 1e-8), steps)
    expected = opentad_rates(2e-4, warmup, total, 1e-8, steps)
    assert ours == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert ours[0] == 0.0 and ours[warmup - 1] == pytest.approx(2e-4) and ours[warmup] == 2e-4


def test_each_group_follows_its_own_base_rate_and_the_state_restores() -> None:
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    optimizer = torch.optim.AdamW([{"params": [params[0]], "lr": 1e-3}, {"params": [params[1]], "lr": 1e-4}])
    schedule = WarmupCosineSchedule(optimizer, 3, 10, 0.0)
    for _ in range(5):
        schedule.step()
    first, second = schedule.last_lr()
    assert first == pytest.approx(10 * second)
    other = WarmupCosineSchedule(
        torch.optim.AdamW([{"params": [params[0]], "lr": 1e-3}, {"params": [params[1]], "lr": 1e-4}]),
        3,
        10,
        0.0,
    )
    other.load_state_dict(schedule.state_dict())
    assert other.last_lr() == schedule.last_lr()
    for _ in range(5):
        schedule.step()
    assert schedule.last_lr()[0] == pytest.approx(0.0, abs=1e-15)  # the end of the cosine: eta_min

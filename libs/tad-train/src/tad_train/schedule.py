"""OpenTAD's learning-rate schedule, stepped once per optimizer iteration.

Linear warm-up from 0 over ``warmup`` iterations (iteration ``k`` gets ``k / (warmup - 1)`` of the base
rate, so the last warm-up iteration reaches it), then a cosine from the base rate to ``eta_min`` reached
at iteration ``total``. OpenTAD computes the same curve recursively (``LinearWarmupCosineAnnealingLR``'s
chainable form); this is its closed form, equal up to floating-point rounding. Training may stop before
``total`` (``schedule.end_epoch``), truncating the cosine as OpenTAD's THUMOS configs do.
"""

from __future__ import annotations

import math

import torch

__all__ = ["WarmupCosineSchedule"]


class WarmupCosineSchedule:
    """Sets ``lr`` of every parameter group from its ``initial_lr`` and the iteration count.

    Args:
        optimizer: its groups' current ``lr`` is taken as their base rate.
        warmup: warm-up iterations (``warmup_epochs * iterations_per_epoch``).
        total: iterations of warm-up plus cosine (``max_epochs * iterations_per_epoch``).
        eta_min: the rate at the end of the cosine.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, warmup: int, total: int, eta_min: float) -> None:
        if not 0 <= warmup <= total or total < 1:
            raise ValueError(f"schedule needs 0 <= warmup ({warmup}) <= total ({total}) and total >= 1")
        self.optimizer = optimizer
        self.warmup, self.total, self.eta_min = warmup, total, eta_min
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.iteration = 0
        self._apply()

    def rate(self, base: float, iteration: int) -> float:
        """The learning rate of a group with base rate ``base`` at ``iteration``."""
        if iteration < self.warmup:
            return base * iteration / (self.warmup - 1) if self.warmup > 1 else base
        span = self.total - self.warmup
        progress = min(iteration - self.warmup, span) / span if span > 0 else 1.0
        return self.eta_min + 0.5 * (base - self.eta_min) * (1 + math.cos(math.pi * progress))

    def step(self) -> None:
        """Advance one iteration (call after ``optimizer.step()``)."""
        self.iteration += 1
        self._apply()

    def last_lr(self) -> list[float]:
        """The rate of each group for the coming iteration."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, int]:
        return {"iteration": self.iteration}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.iteration = int(state["iteration"])
        self._apply()

    def _apply(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.rate(group["initial_lr"], self.iteration)

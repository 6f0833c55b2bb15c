"""The training loop: OpenTAD's AdaTAD recipe, distributed with ``torchrun``, resumable bit for bit.

Per iteration: forward and loss under autocast (fp16 with a GradScaler on CUDA, bf16 optional, fp32 on the
CPU), backward, gradient clipping at ``clip_grad_norm`` after unscaling, an AdamW step with OpenTAD's
parameter groups, the per-iteration warm-up + cosine schedule, and an EMA of every state-dict entry.
``trainer.batch_size`` is the global batch, split evenly over the processes; each epoch visits the
training videos in ``DistributedSampler(shuffle=True, drop_last=True)`` order, and every sample's window
and augmentation are a pure function of (seed, epoch, index) (tad-data).

Checkpoints (``OUT/checkpoints``) hold the model, EMA, optimizer, schedule, scaler, every process's random
streams and the position inside the epoch, so a run resumed with ``--resume auto`` after being killed at
any moment continues exactly: on the CPU, with one process or two, the final weights are bitwise equal to
an uninterrupted run's. SIGTERM (Slurm preemption) or SIGUSR1 makes every process stop at the next
iteration boundary, rank 0 writes ``last.pt``, and the command exits with :data:`EXIT_PREEMPTED` so the
caller requeues it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import signal
import sys
import time
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from tad_backbone import load_state_dict_checked
from tad_data import TrainDataset, collate
from tad_eval import InputError, atomic_write
from tad_head import DetectionLosses, detector_param_groups
from tad_train.checkpoints import read_resume_checkpoint, read_training_checkpoint, write_checkpoint
from tad_train.config import ExperimentConfig, check_classes, config_hash, config_to_dict, dump_config
from tad_train.events import MetricsLog
from tad_train.memory import experiment_memory_plan
from tad_train.model import AdaTAD, build_model
from tad_train.runtime import Runtime, capture_rng, restore_rng, seed_everything
from tad_train.schedule import WarmupCosineSchedule

__all__ = [
    "EXIT_PREEMPTED",
    "Trainer",
    "autocast_dtype",
    "device_description",
    "file_sha256",
    "library_versions",
]

#: Exit status after a SIGTERM/SIGUSR1 checkpoint: sysexits' EX_TEMPFAIL ("try again later"). The workflow
#: reruns the job, which resumes from the checkpoint.
EXIT_PREEMPTED = 75
_GIB = 2**30


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``trainer.amp`` on ``device``: fp16 and bf16 on CUDA, only bf16 on the CPU."""
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16" and device.type == "cuda":
        return torch.float16
    return None


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, read in 16 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(16 * 2**20):
            digest.update(block)
    return digest.hexdigest()


def device_description(runtime: Runtime) -> dict[str, Any]:
    """What the job ran on: device type and name, and the number of processes (one per GPU on CUDA)."""
    if runtime.device.type == "cuda":
        name = torch.cuda.get_device_name(runtime.device)
    else:
        import platform

        name = platform.processor() or platform.machine()
    return {"type": runtime.device.type, "name": name, "processes": runtime.world}


def library_versions() -> dict[str, str]:
    """Versions of the five libraries and torch, for provenance."""
    versions = {}
    for name in ("tad-eval", "tad-data", "tad-backbone", "tad-head", "tad-train", "torch"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "unknown"
    return versions


class _LossStep(nn.Module):
    """What DDP wraps: its forward is the model's loss, so DDP's hooks (gradient reduction, buffer
    broadcast from rank 0) run around exactly the computation a trainer differentiates."""

    def __init__(self, model: AdaTAD) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, Any]) -> DetectionLosses:
        return self.model.loss(batch)


class _ResumableSampler(DistributedSampler):
    """``DistributedSampler`` that can start an epoch after its first ``skip`` samples (a resumed epoch)."""

    skip = 0

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.skip :])

    def __len__(self) -> int:
        return super().__len__() - self.skip


class _StopRequest:
    """Remembers a SIGTERM/SIGUSR1; the loop checks it at iteration boundaries."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous = {}
        for signum in (signal.SIGTERM, signal.SIGUSR1):
            self._previous[signum] = signal.signal(signum, self._remember)

    def _remember(self, signum: int, frame: object) -> None:
        self.signal = signum

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class Trainer:
    """One training run of an experiment in ``out_dir``.

    Args:
        config: the resolved experiment.
        out_dir: run folder: ``config.yaml``, ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/``.
        runtime: this process's rank and device (:func:`tad_train.runtime.setup_runtime`).
    """

    def __init__(self, config: ExperimentConfig, out_dir: str | Path, runtime: Runtime) -> None:
        self.config, self.out, self.runtime = config, Path(out_dir), runtime
        trainer = config.trainer
        seed_everything(trainer.seed, trainer.deterministic)
        if trainer.batch_size % runtime.world:
            raise InputError(
                config.source,
                "trainer.batch_size",
                f"{trainer.batch_size} (the global batch) does not split evenly over {runtime.world} "
                "processes",
            )
        self.per_rank_batch = trainer.batch_size // runtime.world
        self.hash = config_hash(config)
        self.log = MetricsLog(self.out, enabled=runtime.is_main)
        self._say(f"configuration {self.hash[:12]} ({config.source}):\n{dump_config(config)}")

        data = config.data.dataset(config.data.train_subset, config.data.train_min_gt_scale, trainer.seed)
        self.dataset = TrainDataset(data, config.train_sampler, config.augment)
        check_classes(config, self.dataset.classes)
        self.sampler = _ResumableSampler(
            self.dataset, runtime.world, runtime.rank, shuffle=True, seed=trainer.seed, drop_last=True
        )
        self.loader = DataLoader(
            self.dataset,
            batch_size=self.per_rank_batch,
            sampler=self.sampler,
            num_workers=trainer.num_workers,
            collate_fn=collate,
            drop_last=True,
            pin_memory=runtime.device.type == "cuda",
            # Its own generator: making an iterator must not draw from the global stream (exact resume).
            generator=torch.Generator().manual_seed(trainer.seed),
            persistent_workers=False,
        )
        batches = len(self.sampler) // self.per_rank_batch
        if batches == 0:
            raise InputError(
                data.annotation_path,
                config.data.train_subset,
                f"{len(self.dataset)} training videos give no full batch of {trainer.batch_size} on "
                f"{runtime.world} process(es)",
            )
        self.iterations_per_epoch = math.ceil(batches / trainer.grad_accumulation)

        self.model = build_model(config).to(runtime.device)
        self.ema = None
        if trainer.ema_decay is not None:
            self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.step_module: nn.Module = _LossStep(self.model)
        if runtime.distributed:
            self.step_module = self._wrap_ddp(self.step_module)
        self.optimizer = torch.optim.AdamW(
            self._param_groups(), betas=config.optimizer.betas, eps=config.optimizer.eps
        )
        schedule = config.schedule
        self.schedule = WarmupCosineSchedule(
            self.optimizer,
            warmup=schedule.warmup_epochs * self.iterations_per_epoch,
            total=schedule.max_epochs * self.iterations_per_epoch,
            eta_min=schedule.eta_min,
        )
        self.amp_dtype = autocast_dtype(trainer.amp, runtime.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.epoch = 0  # epochs completed
        self.step_in_epoch = 0  # batches consumed in the current epoch
        self.step = 0  # optimizer iterations
        self.step_lrs: dict[str, float] = {}
        self.seconds_before = 0.0  # training time of the runs this one resumes
        self.started = time.monotonic()
        self._plan_memory()

    # ----------------------------------------------------------------------------------------------------
    # Set-up helpers

    def _say(self, message: str) -> None:
        if self.runtime.is_main:
            print(f"tad-train: {message}", file=sys.stderr, flush=True)

    def _wrap_ddp(self, module: nn.Module) -> DistributedDataParallel:
        trainer, device = self.config.trainer, self.runtime.device
        wrapped = DistributedDataParallel(
            module,
            device_ids=[device.index] if device.type == "cuda" else None,
            static_graph=trainer.static_graph,
            find_unused_parameters=not trainer.static_graph,
        )
        if trainer.fp16_compress and device.type == "cuda":
            from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

            wrapped.register_comm_hook(state=None, hook=default_hooks.fp16_compress_hook)
        return wrapped

    def _param_groups(self) -> list[dict[str, Any]]:
        """OpenTAD's groups: [backbone (adapters, or the ViT in full mode), detector decay, no-decay]."""
        opt = self.config.optimizer
        groups = self.model.backbone.param_groups(lr=opt.backbone_lr, weight_decay=opt.backbone_weight_decay)
        detector = detector_param_groups(self.model.detector, lr=opt.lr, weight_decay=opt.weight_decay)
        for group, name in zip(detector, ("detector_decay", "detector_no_decay"), strict=True):
            group["name"] = name
        return [group for group in [*groups, *detector] if group["params"]]

    def _plan_memory(self) -> None:
        """Print the planner's estimate for this exact setting (checked against the measured CUDA peak)."""
        config = self.config
        dtype = {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(self.amp_dtype, "fp32")
        self.plan = experiment_memory_plan(config, self.per_rank_batch, self.runtime.world, dtype)
        self._say(
            f"memory plan per process: peak {self.plan.peak_bytes / _GIB:.2f} GiB ({self.plan.peak_phase}), "
            f"budget {(self.plan.peak_bytes + self.plan.reserve_bytes) / _GIB:.2f} GiB "
            f"[{config.backbone.arch} {config.backbone.model.mode}, {config.window.frames} frames at "
            f"{config.augment.crop_size} px, batch {self.per_rank_batch}, {dtype}]"
        )

    # ----------------------------------------------------------------------------------------------------
    # Checkpoints

    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"

    def _payload(self, rng: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "ema": None if self.ema is None else self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "step": self.step,
            "rng": rng,
            "config_hash": self.hash,
            "config": config_to_dict(self.config),
            "world": self.runtime.world,
            "versions": library_versions(),
            "train_seconds": self._train_seconds(),
        }

    def _save(self, *names: str) -> None:
        """Rank 0 writes the checkpoint to ``names``; every process calls this (it gathers the streams)."""
        rng = self._rng_states()
        if self.runtime.is_main:
            payload = self._payload(rng)
            for name in names:
                write_checkpoint(self.checkpoint_dir / name, payload)
        if self.runtime.distributed:
            dist.barrier()

    def _rng_states(self) -> list[dict[str, Any]]:
        """Every process's random streams, in rank order: each draws its own drop-path masks (and CUDA
        stream), so each resumes from its own."""
        state = capture_rng(self.runtime.device)
        if not self.runtime.distributed:
            return [state]
        states: list[dict[str, Any] | None] = [None] * self.runtime.world
        dist.all_gather_object(states, state)
        return states

    def _resume(self, resume: str | None, force: bool) -> None:
        if resume is None:
            return
        if resume == "auto":
            found = read_resume_checkpoint(self.checkpoint_dir)
            if found is None:
                self._say(
                    f"--resume auto: no checkpoint in {self.checkpoint_dir}, starting from the beginning"
                )
                return
            path, payload = found
        else:
            path = Path(resume)
            payload = read_training_checkpoint(path)
        if payload["config_hash"] != self.hash and not force:
            changed = _changed_keys(payload.get("config", {}), config_to_dict(self.config))
            raise InputError(
                path,
                "config_hash",
                f"written by another configuration (changed: {', '.join(changed[:6]) or 'unknown'}); "
                "resume with that configuration, or pass --force-resume",
            )
        streams = payload["rng"]
        if not isinstance(streams, list) or not streams:
            raise InputError(path, "rng", "expected the random streams of every process (a list by rank)")
        if payload.get("world", self.runtime.world) != self.runtime.world:
            self._say(
                f"warning: {path} was written by {payload['world']} process(es), resuming on "
                f"{self.runtime.world}: the data order from here on differs from an uninterrupted run"
            )
        load_state_dict_checked(self.model, payload["model"], str(path))
        if self.ema is not None and payload["ema"] is not None:
            load_state_dict_checked(self.ema, payload["ema"], str(path))
        self.optimizer.load_state_dict(payload["optimizer"])
        self.schedule.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        self.epoch, self.step_in_epoch, self.step = (
            payload["epoch"],
            payload["step_in_epoch"],
            payload["step"],
        )
        self.seconds_before = float(payload.get("train_seconds", 0.0))
        # On another number of processes the data order differs anyway (warned above): rank r takes an entry.
        restore_rng(streams[self.runtime.rank % len(streams)], self.runtime.device)
        self._say(
            f"resumed from {path}: epoch {self.epoch}, batch {self.step_in_epoch}, iteration {self.step}"
        )

    # ----------------------------------------------------------------------------------------------------
    # The loop

    def fit(self, resume: str | None = None, force_resume: bool = False) -> int:
        """Train to ``schedule.end_epoch``; returns the exit status (0, or :data:`EXIT_PREEMPTED`)."""
        self._resume(resume, force_resume)
        # Only now: a refused resume must leave the config.yaml that describes the run's checkpoints.
        if self.runtime.is_main:
            with atomic_write(self.out / "config.yaml") as handle:
                handle.write(dump_config(self.config))
        self.started = time.monotonic()
        stop = _StopRequest()
        try:
            for epoch in range(self.epoch, self.config.schedule.epochs):
                if self._train_epoch(epoch, stop):
                    self._save("last.pt")
                    self._say(f"stopped by signal {stop.signal}: checkpoint written, exit {EXIT_PREEMPTED}")
                    return EXIT_PREEMPTED
                self.epoch, self.step_in_epoch = epoch + 1, 0
                last = self.epoch == self.config.schedule.epochs
                names = ["last.pt"]
                if last or self.epoch % self.config.trainer.checkpoint_interval == 0:
                    names.append(f"epoch_{self.epoch}.pt")
                self._save(*names)
                self._maybe_evaluate()
            digests = self._rank_digests()
            self._write_summary(digests)
            self.log.write(
                {"event": "done", "epoch": self.epoch, "step": self.step, "rank_digests": digests},
                self.step,
                {},
            )
            if len(set(digests)) > 1:
                self._say(f"warning: the processes ended with different weights: {digests}")
            self._say(
                f"training done: {self.epoch} epochs, {self.step} iterations, weights in "
                f"{self.checkpoint_dir}"
            )
            return 0
        finally:
            stop.restore()
            self.log.close()

    def _train_epoch(self, epoch: int, stop: _StopRequest) -> bool:
        """One epoch from ``self.step_in_epoch``; True when a stop signal interrupted it."""
        from tqdm import tqdm

        trainer = self.config.trainer
        self.sampler.set_epoch(epoch)
        self.dataset.set_epoch(epoch)
        self.sampler.skip = self.step_in_epoch * self.per_rank_batch
        self.model.train()
        total = len(self.sampler) // self.per_rank_batch + self.step_in_epoch
        bar = tqdm(
            total=total,
            initial=self.step_in_epoch,
            desc=f"epoch {epoch + 1}/{self.config.schedule.epochs}",
            unit="batch",
            disable=not self.runtime.is_main,
            dynamic_ncols=True,
        )
        meter = _Meter()
        with bar:
            for batch in self.loader:
                self.step_in_epoch += 1
                boundary = self.step_in_epoch % trainer.grad_accumulation == 0 or self.step_in_epoch == total
                group = _accumulation_group_size(self.step_in_epoch, total, trainer.grad_accumulation)
                losses = self._forward_backward(batch, boundary, group)
                meter.add(losses)
                bar.update(1)
                if not boundary:
                    continue
                self._optimizer_step()
                bar.set_postfix(loss=f"{losses.total.item():.4f}", lr=f"{self.schedule.last_lr()[-1]:.2e}")
                if self.step % trainer.log_interval == 0 or self.step_in_epoch == total:
                    self._log(epoch, meter)
                if self._agree(stop.signal is not None):
                    return True
                if (
                    trainer.checkpoint_steps
                    and self.step % trainer.checkpoint_steps == 0
                    and self.step_in_epoch < total
                ):
                    self._save("last.pt")
        self.sampler.skip = 0
        return False

    def _forward_backward(self, batch: dict[str, Any], boundary: bool, group: int) -> DetectionLosses:
        """Forward and backward of one batch of an accumulation group of ``group`` batches: the optimizer
        steps on the group's mean loss."""
        sync = self.runtime.distributed and not boundary
        context = self.step_module.no_sync() if sync else contextlib.nullcontext()  # type: ignore[operator]
        autocast = (
            torch.autocast(self.runtime.device.type, dtype=self.amp_dtype)
            if self.amp_dtype
            else contextlib.nullcontext()
        )
        with context:
            with autocast:
                losses = self.step_module(batch)
            self.scaler.scale(losses.total / group).backward()
        return losses

    def _optimizer_step(self) -> None:
        clip = self.config.trainer.clip_grad_norm
        if clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step_lrs = {
            group.get("name", str(i)): group["lr"] for i, group in enumerate(self.optimizer.param_groups)
        }
        self.schedule.step()
        self.step += 1
        if self.ema is not None:
            self._update_ema(self.config.trainer.ema_decay)

    @torch.no_grad()
    def _update_ema(self, decay: float) -> None:
        """OpenTAD's ModelEma: ``ema = decay * ema + (1 - decay) * model`` over every state-dict entry."""
        for ema_value, value in zip(
            self.ema.state_dict().values(), self.model.state_dict().values(), strict=True
        ):
            if ema_value.is_floating_point():
                ema_value.copy_(decay * ema_value + (1.0 - decay) * value)
            else:
                ema_value.copy_(value)

    def _train_seconds(self) -> float:
        return self.seconds_before + time.monotonic() - self.started

    def _write_summary(self, digests: list[str]) -> None:
        """``OUT/summary.json``: written once training is complete (the workflow waits for it)."""
        if not self.runtime.is_main:
            return
        last = self.checkpoint_dir / "last.pt"
        summary = {
            "kind": "trained",
            "experiment": self.config.name,
            "config_hash": self.hash,
            "epochs": self.epoch,
            "iterations": self.step,
            "checkpoint": str(last),
            "checkpoint_sha256": file_sha256(last),
            "train_seconds": self._train_seconds(),
            "device": device_description(self.runtime),
            "planned_peak_bytes": self.plan.peak_bytes,
            "measured_peak_bytes": _peak_memory(self.runtime.device),
            "rank_digests": digests,
            "versions": library_versions(),
        }
        with atomic_write(self.out / "summary.json") as handle:
            json.dump(summary, handle, indent=2)
            handle.write("\n")

    def _rank_digests(self) -> list[str]:
        """sha256 of each process's parameters, in rank order: DDP keeps them equal, this shows it does.

        Buffers are left out: the loss normalizer differs after the last step (DDP broadcasts rank 0's
        before each forward, then every rank folds in its own positives, as in OpenTAD).
        """
        digest = hashlib.sha256()
        for name, value in self.model.named_parameters():
            digest.update(name.encode())
            digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        if not self.runtime.distributed:
            return [digest.hexdigest()]
        digests: list[str | None] = [None] * self.runtime.world
        dist.all_gather_object(digests, digest.hexdigest())
        return [str(d) for d in digests]

    def _agree(self, flag: bool) -> bool:
        """True on every process when any process has ``flag`` (so all stop at the same iteration)."""
        if not self.runtime.distributed:
            return flag
        value = torch.tensor([int(flag)], device=self.runtime.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def _log(self, epoch: int, meter: _Meter) -> None:
        averages = meter.pop()
        lrs = self.step_lrs  # the rates of the iteration just taken
        record = {
            "epoch": epoch + 1,
            "step": self.step,
            **averages,
            "lr": lrs,
            "normalizer": float(self.model.loss_normalizer.value),
            "peak_memory_bytes": _peak_memory(self.runtime.device),
            "planned_peak_bytes": self.plan.peak_bytes,
            "time": time.time(),
        }
        scalars = {f"train/{k}": v for k, v in averages.items()} | {f"lr/{k}": v for k, v in lrs.items()}
        scalars["train/normalizer"] = record["normalizer"]
        self.log.write(record, self.step, scalars)

    def _maybe_evaluate(self) -> None:
        trainer = self.config.trainer
        start = trainer.val_start_epoch
        if start is None or self.epoch < start or (self.epoch - start) % trainer.val_interval:
            return
        from tad_train.evaluate import evaluate_model

        model = self.ema if self.ema is not None else self.model
        summary = evaluate_model(
            self.config, model, self.runtime, self.out / "eval" / f"epoch_{self.epoch}.json"
        )
        if summary is not None:
            self._say(f"epoch {self.epoch}: {summary.describe()}")
            self.log.write(
                {"epoch": self.epoch, "step": self.step, **summary.as_record()}, self.step, summary.scalars()
            )


class _Meter:
    """Running sums of the loss parts between two log lines, with the iteration speed."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0
        self.start = time.perf_counter()

    def add(self, losses: DetectionLosses) -> None:
        for name in ("total", "cls_loss", "reg_loss"):
            self.sums[name] = self.sums.get(name, 0.0) + float(getattr(losses, name).detach())
        self.sums["num_pos"] = self.sums.get("num_pos", 0.0) + losses.num_pos
        self.count += 1

    def pop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.start
        averages = {("loss" if k == "total" else k): v / max(self.count, 1) for k, v in self.sums.items()}
        averages["batches_per_s"] = self.count / elapsed if elapsed > 0 else 0.0
        self.__init__()
        return averages


def _accumulation_group_size(batch: int, total: int, accumulation: int) -> int:
    """Batches in the accumulation group of batch ``batch`` (1-based) of an epoch of ``total`` batches:
    ``accumulation``, except in a last group cut short by the end of the epoch."""
    first = (batch - 1) // accumulation * accumulation
    return min(accumulation, total - first)


def _peak_memory(device: torch.device) -> int:
    """Peak bytes: CUDA's max allocated (what OpenTAD logs as mem=), else the process's peak RSS."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two configuration dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        changed = []
        for key in sorted(set(old) | set(new)):
            changed += _changed_keys(old.get(key), new.get(key), f"{prefix}{key}.")
        return changed
    return [] if old == new else [prefix.rstrip(".")]

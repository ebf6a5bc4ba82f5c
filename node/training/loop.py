"""The local training loop: K steps from a base model, every state hashed, a trace root.

State after step t: ``S_t = sha256(canonical(params, optimizer buffers, step, rng counter))``
(PROTOCOL.md). ``S_0`` follows from the round's inputs, so both sides of a dispute agree on
it; the trace root is the positional Merkle root of ``[S_0 .. S_K]``. Batches come from a
counter-based choice: step t's batch is a permutation seeded by ``sha256(seed || t)``, so any
re-execution draws the same samples. Checkpoints every ``checkpoint_every`` steps let a
trainer recompute any step on demand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from node.errors import ConfigError
from node.training.data import Dataset
from node.training.models import get_model
from node.training.ops import OpBackend, get_backend
from verifier.merkle import TraceTree
from verifier.repops.canonical import OPTIMIZERS, full_state, state_hash, zero_buffers
from verifier.repops.compress import CompressionError, parse_compression

__all__ = ["TrainConfig", "TrainResult", "train", "evaluate", "apply_delta", "resolve_device", "batch_indices"]

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe a task fixes; its canonical JSON's sha256 is the task's configHash."""

    model: str = "mlp"
    steps: int = 20
    batch_size: int = 32
    lr: float = 0.1
    momentum: float = 0.9
    optimizer: str = "sgd"  # or "adam" (betas 0.9 / 0.999, eps 1e-8; lr as above)
    weight_decay: float = 0.0  # adam only: decoupled weight decay (AdamW)
    clip_norm: float = 0.0  # clip gradients to this global norm (0: no clipping)
    warmup: int = 0  # adam only: linear warm-up steps of the round's schedule
    schedule: str = "constant"  # adam only: or "cosine" (decay to 10% over the round's steps)
    backend: str = "stock"
    checkpoint_every: int = 5
    init_seed: int = 0
    # How the aggregator scores and rewards (verifier/scoring/policy.py).
    aggregation: str = "multi_krum"
    reward_cap_bps: int = 5000
    ema_alpha: float = 0.5
    shapley_every: int = 1  # marginal-value diagnostics every R rounds (0: never); the last round always
    compression: str = ""  # the published delta's recipe (verifier/repops/compress.py): "", "topk:0.1", "int8", "topk:0.1,int8"

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.checkpoint_every < 1:
            raise ConfigError("steps, batch_size and checkpoint_every must be at least 1")
        if not (self.lr > 0 and 0 <= self.momentum < 1):
            raise ConfigError("lr must be positive and momentum in [0, 1)")
        get_model(self.model)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}", hint=f"one of {', '.join(OPTIMIZERS)}")
        if self.weight_decay < 0 or self.clip_norm < 0 or self.warmup < 0:
            raise ConfigError("weight_decay, clip_norm and warmup must not be negative")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}", hint=f"one of {', '.join(SCHEDULES)}")
        if self.optimizer != "adam" and (self.weight_decay or self.warmup or self.schedule != "constant"):
            raise ConfigError("weight decay, warm-up and the cosine schedule are for the adam optimizer", hint="add --optimizer adam")
        try:
            recipe = parse_compression(self.compression)
        except CompressionError as exc:
            raise ConfigError(str(exc), hint="e.g. --compression topk:0.1,int8, or none") from None
        object.__setattr__(self, "compression", str(recipe))  # one spelling per recipe, so one configHash
        from verifier.scoring.policy import RULES

        if self.aggregation not in RULES:
            raise ConfigError(f"unknown aggregation {self.aggregation!r}", hint=f"one of {', '.join(RULES)}")

    def to_bytes(self) -> bytes:
        fields = {k: v for k, v in asdict(self).items() if not (k in _LATER_FIELDS and v == _LATER_FIELDS[k])}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def for_model(cls, model: str, **overrides: Any) -> TrainConfig:
        """The model's recipe (e.g. AdamW, clipping and a schedule for the GPT) with ``overrides``
        on top; overrides that are None are ignored."""
        recipe = dict(get_model(model).recipe)
        chosen = {k: v for k, v in overrides.items() if v is not None}
        if chosen.get("optimizer", recipe.get("optimizer", "sgd")) != "adam":  # the recipe's Adam-only settings go with Adam
            recipe = {k: v for k, v in recipe.items() if k not in ("weight_decay", "warmup", "schedule")}
        recipe.update(chosen)
        return cls(model=model, **recipe)

    def adam_schedule(self) -> dict[str, Any]:
        """The keyword arguments of the optimizer's weight decay and learning-rate schedule."""
        return {"weight_decay": self.weight_decay, "warmup": self.warmup, "total": self.steps if self.schedule == "cosine" else 0}

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainConfig:
        try:
            return cls(**json.loads(data))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfigError(f"not a training config: {exc}") from None

    @property
    def config_hash(self) -> bytes:
        return hashlib.sha256(self.to_bytes()).digest()


SCHEDULES = ("constant", "cosine")
_LATER_FIELDS: dict[str, Any] = {"weight_decay": 0.0, "clip_norm": 0.0, "warmup": 0, "schedule": "constant", "compression": ""}
"""Fields added after tasks existed: left out of the canonical JSON at their defaults, so an
older task's configHash is unchanged."""


@dataclass
class TrainResult:
    params: Params
    delta: Params
    state_hashes: list[bytes]
    checkpoints: dict[int, Params] = field(repr=False, default_factory=dict)

    @property
    def trace_root(self) -> bytes:
        return TraceTree(self.state_hashes).root

    @property
    def final_state_hash(self) -> bytes:
        return self.state_hashes[-1]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA device is available", hint="use --device auto or cpu")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {name!r}", hint="auto, cpu or cuda")
    return torch.device(name)


def batch_indices(seed: bytes, step: int, n: int, batch_size: int) -> torch.Tensor:
    digest = hashlib.sha256(seed + step.to_bytes(8, "big")).digest()
    gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF)
    return torch.randperm(n, generator=gen)[: min(batch_size, n)]


def train(
    base: Params,
    shard: Dataset,
    config: TrainConfig,
    *,
    seed: bytes,
    device: torch.device | str = "cpu",
    ops: OpBackend | None = None,
    progress: Callable[[int], None] | None = None,
    microbatch: int | None = None,
    on_step: Callable[[int, str], None] | None = None,
    until: int | None = None,
) -> TrainResult:
    """Train ``config.steps`` steps on ``shard`` from ``base``; return the delta and the trace.

    ``microbatch`` splits each batch into groups whose gradients are summed afterwards (with
    ``repops``, power-of-two groups of a power-of-two batch give the same bits as the whole
    batch). ``on_step(step, "start" | "end")`` brackets each step (the trace command records
    one step's operator tape with it). ``until`` stops after that step (the schedule still
    spans ``config.steps``), to re-record one step of a run.
    """
    device = torch.device(device)
    ops = ops or get_backend(config.backend)
    model = get_model(config.model)
    params = {k: v.detach().to(device).clone() for k, v in base.items()}
    buffers = zero_buffers(params, config.optimizer)
    names = sorted(params)
    x_all, y_all = shard.x.to(device), shard.y.to(device)
    cpu_state = lambda step: {k: v.detach().cpu().clone() for k, v in full_state(params, buffers, step).items()}  # noqa: E731
    hashes = [state_hash(full_state(params, buffers, 0))]
    checkpoints = {0: cpu_state(0)}
    last = config.steps if until is None else min(until, config.steps)
    for step in range(1, last + 1):
        if on_step:
            on_step(step, "start")
        idx = batch_indices(seed, step, len(shard), config.batch_size).to(device)
        groups = torch.split(idx, microbatch) if microbatch else (idx,)
        scale = 1.0 / (len(idx) * y_all[0].numel())  # the mean over samples (and over tokens)
        batches = [(x_all[group], y_all[group]) for group in groups]
        ops.begin_step(step - 1, {**{f"param.{k}": params[k] for k in names}, **{f"buffer.{k}": buffers[k] for k in names},
                                  **{f"batch.{g}.{n}": t for g, b in enumerate(batches) for n, t in zip("xy", b, strict=True)}})  # fmt: skip
        parts: list[tuple[torch.Tensor, ...]] = []
        for xb, yb in batches:
            leaves = [params[k].detach().requires_grad_(True) for k in names]
            logits = model.forward(dict(zip(names, leaves, strict=True)), xb, ops)
            loss = ops.cross_entropy(logits, ops.reshape(yb, (yb.numel(),)), scale)
            parts.append(torch.autograd.grad(loss, leaves))
        grads = [ops.combine([p[i] for p in parts]) for i in range(len(names))] if len(parts) > 1 else list(parts[0])
        if config.clip_norm:
            grads = ops.clip_grads(grads, config.clip_norm)
        for k in names:
            params[k] = params[k].detach()
        if config.optimizer == "adam":
            ops.adam_([params[k] for k in names], grads, [buffers[k] for k in names], step, config.lr, **config.adam_schedule())
        else:
            ops.sgd_momentum_([params[k] for k in names], grads, [buffers[k] for k in names], config.lr, config.momentum)
        hashes.append(ops.seal(params, buffers, step))
        if step % config.checkpoint_every == 0 or step == last:
            checkpoints[step] = cpu_state(step)
        if on_step:
            on_step(step, "end")
        if progress:
            progress(step)
    final = {k: v.detach().cpu() for k, v in params.items()}
    delta = {k: final[k] - base[k].detach().cpu() for k in names}
    return TrainResult(final, delta, hashes, checkpoints)


def evaluate(model_name: str, params: Params, data: Dataset, ops: OpBackend | None = None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``params`` on ``data``."""
    ops = ops or get_backend("stock")
    model = get_model(model_name)
    if model.tokens:
        return _evaluate_tokens(model.forward, params, data, ops)
    with torch.no_grad():
        logits = model.forward(params, data.x, ops)
        loss = float(ops.cross_entropy(logits, data.y))
        accuracy = float((logits.argmax(dim=1) == data.y).float().mean())
    return loss, accuracy


def _evaluate_tokens(forward: Callable[..., torch.Tensor], params: Params, data: Dataset, ops: OpBackend, chunk: int = 64) -> tuple[float, float]:
    """Mean next-token cross-entropy and accuracy over every token, in chunks of sequences."""
    total, correct, tokens = 0.0, 0, 0
    with torch.no_grad():
        for start in range(0, len(data), chunk):
            x, y = data.x[start : start + chunk], data.y[start : start + chunk].reshape(-1)
            logits = forward(params, x, ops)
            total += float(ops.cross_entropy(logits, y, 1.0))
            correct += int((logits.argmax(dim=1) == y).sum())
            tokens += y.numel()
    return total / max(tokens, 1), correct / max(tokens, 1)


def apply_delta(params: Params, delta: Params, scale: float = 1.0) -> Params:
    return {k: params[k] + scale * delta[k] for k in params}

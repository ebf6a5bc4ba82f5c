"""Models as parameter dicts plus a forward function over an operator backend.

``mlp`` (the default: 64 -> 64 -> 10, trains in seconds on CPU), ``cnn`` (two 3x3
convolutions and a linear layer over 8x8 images), and ``gpt`` (a decoder-only byte language
model: 4 layers, 4 heads, width 128, context 128, about 0.8 M parameters) with ``gpt-mini``
(2 layers, 2 heads, width 32, context 16) for tests. Models call only backend operators, views
included (``ops.reshape``), and mark a tensor used twice with ``ops.fork``, so with RepOps
every operation of a step is on the tape. Parameters are initialised from a seed on the CPU,
so every participant derives the same initial model. For token models ``features`` is the
sequence length and ``classes`` the vocabulary.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from node.errors import ConfigError
from node.training.ops import OpBackend

__all__ = ["ModelSpec", "MODELS", "get_model"]

Params = dict[str, torch.Tensor]


def _uniform(gen: torch.Generator, shape: tuple[int, ...], fan_in: int) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=gen, dtype=torch.float32) * 2 - 1) * bound


@dataclass(frozen=True)
class ModelSpec:
    name: str
    init_fn: Callable[[torch.Generator, int, int], Params]
    forward_fn: Callable[[Params, torch.Tensor, OpBackend], torch.Tensor]
    tokens: bool = False  # inputs are (batch, seq) int64 tokens and targets (batch, seq)
    context: int | None = None  # the sequence length of a token model's data
    recipe: dict[str, Any] = field(default_factory=dict)  # TrainConfig defaults that suit the model

    def init(self, seed: int, features: int = 64, classes: int = 10) -> Params:
        return self.init_fn(torch.Generator().manual_seed(seed), features, classes)

    def forward(self, params: Params, x: torch.Tensor, ops: OpBackend) -> torch.Tensor:
        return self.forward_fn(params, x, ops)


HIDDEN = 64


def _mlp_init(gen: torch.Generator, features: int, classes: int) -> Params:
    return {
        "fc1.weight": _uniform(gen, (HIDDEN, features), features),
        "fc1.bias": _uniform(gen, (HIDDEN,), features),
        "fc2.weight": _uniform(gen, (classes, HIDDEN), HIDDEN),
        "fc2.bias": _uniform(gen, (classes,), HIDDEN),
    }


def _mlp_forward(p: Params, x: torch.Tensor, ops: OpBackend) -> torch.Tensor:
    x = ops.reshape(x, (x.shape[0], x[0].numel()))
    h = ops.relu(ops.linear(x, p["fc1.weight"], p["fc1.bias"]))
    return ops.linear(h, p["fc2.weight"], p["fc2.bias"])


def _cnn_init(gen: torch.Generator, features: int, classes: int) -> Params:
    side = int(math.isqrt(features))
    if side * side != features:
        raise ConfigError(f"the cnn model needs square single-channel images; {features} features are not")
    return {
        "conv1.weight": _uniform(gen, (8, 1, 3, 3), 9),
        "conv1.bias": _uniform(gen, (8,), 9),
        "conv2.weight": _uniform(gen, (16, 8, 3, 3), 72),
        "conv2.bias": _uniform(gen, (16,), 72),
        "fc.weight": _uniform(gen, (classes, 16 * features), 16 * features),
        "fc.bias": _uniform(gen, (classes,), 16 * features),
    }


def _cnn_forward(p: Params, x: torch.Tensor, ops: OpBackend) -> torch.Tensor:
    side = int(math.isqrt(x[0].numel()))
    x = ops.reshape(x, (x.shape[0], 1, side, side))
    h = ops.relu(ops.conv2d(x, p["conv1.weight"], p["conv1.bias"], 1))
    h = ops.relu(ops.conv2d(h, p["conv2.weight"], p["conv2.bias"], 1))
    return ops.linear(ops.reshape(h, (h.shape[0], h[0].numel())), p["fc.weight"], p["fc.bias"])


GPT_STD = 0.02


def _gpt_init(gen: torch.Generator, features: int, classes: int, *, layers: int, width: int) -> Params:
    """Weights uniform with standard deviation 0.02 (the projections into the residual stream
    scaled by 1/sqrt(2 layers)), biases zero, LayerNorm weights one."""
    bound = GPT_STD * math.sqrt(3.0)
    w = lambda *shape, s=1.0: (torch.rand(shape, generator=gen, dtype=torch.float32) * 2 - 1) * (bound * s)  # noqa: E731
    zeros, ones = lambda n: torch.zeros(n), lambda n: torch.ones(n)  # noqa: E731
    residual = 1.0 / math.sqrt(2 * layers)
    p: Params = {"wte": w(classes, width), "wpe": w(features, width)}
    for i in range(layers):
        p |= {
            f"h{i}.ln1.weight": ones(width), f"h{i}.ln1.bias": zeros(width),
            f"h{i}.attn.weight": w(3 * width, width), f"h{i}.attn.bias": zeros(3 * width),
            f"h{i}.proj.weight": w(width, width, s=residual), f"h{i}.proj.bias": zeros(width),
            f"h{i}.ln2.weight": ones(width), f"h{i}.ln2.bias": zeros(width),
            f"h{i}.fc.weight": w(4 * width, width), f"h{i}.fc.bias": zeros(4 * width),
            f"h{i}.out.weight": w(width, 4 * width, s=residual), f"h{i}.out.bias": zeros(width),
        }  # fmt: skip
    p |= {"ln_f.weight": ones(width), "ln_f.bias": zeros(width), "head.weight": w(classes, width), "head.bias": zeros(classes)}
    return p


def _gpt_forward(p: Params, x: torch.Tensor, ops: OpBackend, *, heads: int) -> torch.Tensor:
    """(batch, seq) tokens -> (batch * seq, vocab) next-token logits (pre-LayerNorm blocks)."""
    seq = x.shape[1]
    h = ops.embed(x, p["wte"], p["wpe"])
    i = 0
    while f"h{i}.ln1.weight" in p:
        branch, skip = ops.fork(h)
        z = ops.linear(ops.layer_norm(branch, p[f"h{i}.ln1.weight"], p[f"h{i}.ln1.bias"]), p[f"h{i}.attn.weight"], p[f"h{i}.attn.bias"])
        h = ops.add(skip, ops.linear(ops.attention(z, heads, seq), p[f"h{i}.proj.weight"], p[f"h{i}.proj.bias"]))
        branch, skip = ops.fork(h)
        z = ops.gelu(ops.linear(ops.layer_norm(branch, p[f"h{i}.ln2.weight"], p[f"h{i}.ln2.bias"]), p[f"h{i}.fc.weight"], p[f"h{i}.fc.bias"]))
        h = ops.add(skip, ops.linear(z, p[f"h{i}.out.weight"], p[f"h{i}.out.bias"]))
        i += 1
    h = ops.layer_norm(h, p["ln_f.weight"], p["ln_f.bias"])
    return ops.linear(h, p["head.weight"], p["head.bias"])


def _gpt(name: str, layers: int, heads: int, width: int, context: int, batch_size: int) -> ModelSpec:
    recipe = {"optimizer": "adam", "lr": 3e-3, "weight_decay": 0.01, "clip_norm": 1.0, "warmup": 2, "schedule": "cosine", "batch_size": batch_size}
    return ModelSpec(name, functools.partial(_gpt_init, layers=layers, width=width), functools.partial(_gpt_forward, heads=heads),
                     tokens=True, context=context, recipe=recipe)  # fmt: skip


MODELS = {
    "mlp": ModelSpec("mlp", _mlp_init, _mlp_forward),
    "cnn": ModelSpec("cnn", _cnn_init, _cnn_forward),
    "gpt": _gpt("gpt", layers=4, heads=4, width=128, context=128, batch_size=16),
    "gpt-mini": _gpt("gpt-mini", layers=2, heads=2, width=32, context=16, batch_size=8),
}


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}", hint=f"known: {', '.join(sorted(MODELS))}") from None

"""Models as parameter dicts plus a forward function over an operator backend.

``mlp`` (the default: 64 -> 64 -> 10, trains in seconds on CPU) and ``cnn`` (two 3x3
convolutions and a linear layer over 8x8 images). Parameters are initialised from a seed on
the CPU, so every participant derives the same initial model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

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
    x = x.reshape(x.shape[0], -1)
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
    x = x.reshape(x.shape[0], 1, side, side)
    h = ops.relu(ops.conv2d(x, p["conv1.weight"], p["conv1.bias"], 1))
    h = ops.relu(ops.conv2d(h, p["conv2.weight"], p["conv2.bias"], 1))
    return ops.linear(h.reshape(h.shape[0], -1), p["fc.weight"], p["fc.bias"])


MODELS = {
    "mlp": ModelSpec("mlp", _mlp_init, _mlp_forward),
    "cnn": ModelSpec("cnn", _cnn_init, _cnn_forward),
}


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}", hint=f"known: {', '.join(sorted(MODELS))}") from None

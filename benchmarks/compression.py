"""compression: published delta size and model quality per compression recipe, a few rounds.

For each model and each recipe (``none`` first), a small federation without the chain: every
round each of ``--trainers`` trainers trains ``--steps`` steps of the model's recipe from the
global model on its shard, publishes its delta encoded under the recipe, and the global model
adds the mean of the decoded deltas (FedAvg; the same for every recipe). Prints one JSON object
per (model, recipe): ``size_ratio`` (published bytes / uncompressed safetensors bytes, mean
over the deltas), the validation loss and accuracy after each round, and their change against
``none`` after the last round.

    python -m benchmarks.compression [--models mlp gpt] [--rounds 5] [--steps 20] [--trainers 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from typing import Any

import torch

from node.training.codec import decode_delta, encode_delta, encode_tensors, spec_of
from node.training.data import Dataset, dataset_for, split_shards
from node.training.loop import TrainConfig, evaluate, train
from node.training.models import get_model

RECIPES = ["none", "int8", "topk:0.1", "topk:0.1,int8", "topk:0.01,int8"]


def federate(model: str, recipe: str, *, rounds: int, steps: int, trainers: int, backend: str, val_limit: int) -> dict[str, Any]:
    config = TrainConfig.for_model(model, steps=steps, backend=backend, compression=recipe)
    data = dataset_for(model)
    shards, val = split_shards(data, trainers, seed=0)
    val = Dataset(val.x[:val_limit], val.y[:val_limit], val.classes)
    params = get_model(model).init(0, int(data.x[0].numel()), data.num_classes)
    spec = spec_of(params)
    ratios: list[float] = []
    history = []
    began = time.perf_counter()
    for round_ in range(1, rounds + 1):
        deltas = []
        for t, shard in enumerate(shards):
            seed = hashlib.sha256(f"compression-bench-{round_}-{t}".encode()).digest()
            delta = train(params, shard, config, seed=seed).delta
            blob = encode_delta(delta, config.compression)
            ratios.append(len(blob) / len(encode_tensors(delta)))
            deltas.append(decode_delta(blob, spec, config.compression))
        params = {k: params[k] + torch.stack([d[k] for d in deltas]).mean(0) for k in params}
        loss, accuracy = evaluate(model, params, val)
        history.append({"round": round_, "val_loss": round(loss, 4), "val_accuracy": round(accuracy, 4)})
    return {"benchmark": "compression", "model": model, "compression": recipe, "rounds": rounds, "steps": steps, "trainers": trainers,
            "backend": backend, "size_ratio": round(sum(ratios) / len(ratios), 4), "history": history,
            "seconds": round(time.perf_counter() - began, 1)}  # fmt: skip


def run(models: list[str], recipes: list[str], **kwargs: Any) -> list[dict[str, Any]]:
    results = []
    for model in models:
        baseline: dict[str, Any] | None = None
        for recipe in ["none"] + [r for r in recipes if r != "none"]:
            result = federate(model, recipe, **kwargs)
            baseline = baseline or result["history"][-1]
            last = result["history"][-1]
            result["val_loss_change"] = round(last["val_loss"] - baseline["val_loss"], 4)
            result["val_accuracy_change"] = round(last["val_accuracy"] - baseline["val_accuracy"], 4)
            print(json.dumps(result), flush=True)
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "gpt"])
    parser.add_argument("--recipes", nargs="+", default=RECIPES)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--trainers", type=int, default=3)
    parser.add_argument("--backend", default="stock", help="stock (fast) or repops; compression acts on the delta either way")
    parser.add_argument("--val-limit", type=int, default=256, help="validation samples (sequences for the GPT)")
    args = parser.parse_args(argv)
    run(args.models, args.recipes, rounds=args.rounds, steps=args.steps, trainers=args.trainers, backend=args.backend, val_limit=args.val_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Re-executing a submission: the exact inputs of one trainer's run in one round, from public data.

The base model is the round's (on chain), the shard is the one assigned to the trainer by the
round seed, the batches come from the trainer's seed: anyone (the trainer defending itself, a
verifier, a referee) derives the same run, and with RepOps the same bits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from node.chain.deploy import Network
from node.roles.common import TaskData
from node.roles.referee import make_referee
from node.training.claims import program_for, step_batch, train_claim
from node.training.data import Dataset, assign_shard, trainer_seed
from node.training.loop import TrainConfig
from verifier.dispute.claims import TraceClaim
from verifier.dispute.game import Referee

__all__ = ["RunInputs", "run_inputs"]


@dataclass(frozen=True)
class RunInputs:
    base: dict[str, torch.Tensor]
    shard: Dataset
    config: TrainConfig
    seed: bytes
    features: int
    classes: int

    def claim(self, fault: tuple[int, int] | None = None) -> TraceClaim:
        """Train the run (faulty at ``fault``) and return its claim."""
        return train_claim(self.base, self.shard, self.config, self.seed, fault=fault)[0]

    @functools.cached_property
    def referee(self) -> Referee:
        program = program_for(self.config, self.base, self.features, self.classes)
        return make_referee(program, self.base, lambda t: step_batch(self.shard, self.config, self.seed, t), self.config.compression)


def run_inputs(net: Network, data: TaskData, task_id: int, round_: int, trainer: str) -> RunInputs:
    rnd = net.tasks.get_round(task_id, round_)
    shards = data.manifest.shards
    shard = data.dataset(shards[assign_shard(rnd.seed, task_id, round_, trainer, len(shards))])
    seed = trainer_seed(rnd.seed, task_id, round_, trainer)
    return RunInputs(data.model(rnd.base_model_cid), shard, data.config, seed, data.manifest.input_shape_features, data.manifest.num_classes)

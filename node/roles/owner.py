"""The task owner's side: put a data set, a training config and an initial model into the
content store and create the task on chain."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from node.chain.contracts import TaskConfig
from node.chain.deploy import Network
from node.chain.transactor import Sender
from node.storage import ContentStore
from node.training.claims import program_for
from node.training.codec import encode_tensors
from node.training.data import DataManifest, Dataset, encode_dataset, split_shards
from node.training.loop import TrainConfig
from node.training.models import get_model

__all__ = ["TaskSetup", "publish_task"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskSetup:
    """What `publish_task` needs besides the data and the training config."""

    aggregator: str
    reward_per_round: int
    rounds: int
    shards: int = 4
    phase_seconds: int = 600
    min_stake: int = 10**18
    no_reveal_penalty: int = 10**18
    name: str = "data"


def publish_task(net: Network, store: ContentStore, owner: Sender, data: Dataset, config: TrainConfig, setup: TaskSetup) -> int:
    """Upload shards, manifest, config and initial model; fund and create the task."""
    shards, validation = split_shards(data, setup.shards, seed=config.init_seed)
    manifest = DataManifest(
        name=setup.name,
        input_shape=list(data.x.shape[1:]),
        num_classes=data.num_classes,
        shards=[str(store.put(encode_dataset(s))) for s in shards],
        validation=str(store.put(encode_dataset(validation))),
        samples=len(data),
    )
    data_cid = store.put(manifest.to_bytes())
    config_cid = store.put(config.to_bytes())
    model = get_model(config.model).init(config.init_seed, manifest.input_shape_features, manifest.num_classes)
    model_cid = store.put(encode_tensors(model))
    for cid in (data_cid, config_cid, model_cid):
        store.pin(cid)
    task = TaskConfig(
        model_cid=bytes(model_cid), data_cid=bytes(data_cid), config_hash=config.config_hash, aggregator=setup.aggregator,
        reward_per_round=setup.reward_per_round, num_rounds=setup.rounds, commit_duration=setup.phase_seconds,
        reveal_duration=setup.phase_seconds, score_duration=setup.phase_seconds, challenge_duration=setup.phase_seconds,
        min_stake=setup.min_stake, no_reveal_penalty=setup.no_reveal_penalty,
        # RepOps tasks are verifiable: K and M let verifiers dispute a submission on chain.
        steps_per_round=config.steps if config.backend == "repops" else 0,
        ops_per_step=len(program_for(config, model, manifest.input_shape_features, manifest.num_classes)) if config.backend == "repops" else 0,
    )  # fmt: skip
    net.token.approve(owner, net.vault.address, task.budget)
    task_id, _ = net.tasks.create_task(owner, task)
    logger.info("task %s created: model %s, data %s", task_id, model_cid, data_cid)
    return task_id

"""One call for scripts: connect to a meritnet deployment and its content store.

    from node.client import connect_network

    network = connect_network(rpc="http://127.0.0.1:8545", store="/ip4/127.0.0.1/tcp/5001")
    network.token.balance_of(address)          # typed clients: token, registry, tasks, vault, reputation, disputes
    network.rewards(address, task=1)           # per round: allocation, claimed, claimable with proof
    network.reputation_scores(epoch=1)         # a posted epoch, recomputed and checked against its root

Every argument is optional and may be a ``str`` or a ``Path``; what is not given comes from
the environment and ``meritnet.toml`` as for the ``meritnet`` command (``MERITNET_RPC``,
``MERITNET_DEPLOYMENTS``, ``MERITNET_STORE``), else ``http://127.0.0.1:8545`` (a devnet),
``./deployments`` and the embedded store in ``./.meritnet/store``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.chain.contracts import MeritToken, Registry, ReputationOracle, RewardVault, TaskManager
from node.chain.deploy import Network, load_deployment
from node.chain.disputes import DisputeGame
from node.chain.provider import connect
from node.chain.transactor import Sender
from node.config import load_settings
from node.storage import ContentStore, open_store

__all__ = ["DEFAULT_RPC", "MeritnetClient", "connect_network"]

DEFAULT_RPC = "http://127.0.0.1:8545"


@dataclass
class MeritnetClient:
    """A deployment on a live chain and the content store its tasks use."""

    net: Network
    store: ContentStore

    @property
    def token(self) -> MeritToken:
        return self.net.token

    @property
    def registry(self) -> Registry:
        return self.net.registry

    @property
    def tasks(self) -> TaskManager:
        return self.net.tasks

    @property
    def vault(self) -> RewardVault:
        return self.net.vault

    @property
    def reputation(self) -> ReputationOracle:
        return self.net.reputation

    @property
    def disputes(self) -> DisputeGame:
        return self.net.disputes

    @property
    def accounts(self) -> list[str]:
        """The node's unlocked accounts (devnets)."""
        return [str(a) for a in self.net.w3.eth.accounts]

    def sender(self, account: str | None = None) -> Sender:
        """The configured key (``MERITNET_PRIVATE_KEY``, ``private_key_file``), else ``account`` or the first unlocked account."""
        key = load_settings().account()
        return key if key is not None and account is None else (account or self.accounts[0])

    def rewards(self, address: str, task: int) -> list[dict[str, Any]]:
        """Per round of ``task``: the allocation, whether ``address`` claimed, what it can claim (with proof)."""
        from node.chain.queries import rewards_info
        from node.roles.common import scores_table

        current = self.tasks.get_task(task).current_round
        rounds: list[dict[str, Any]] = []
        for r in range(1, current + 1):
            rounds.extend(
                rewards_info(self.net, address, task, [r], scores_table(self.net, self.store, task, r))["rounds"]
            )
        return rounds

    def reputation_scores(self, epoch: int | None = None, *, walks: int = 10_000) -> dict[str, float]:
        """MeritRank scores of a posted epoch (default: the latest posted), recomputed from the chain and checked against its root."""
        from node.chain.reputation import recompute_epoch

        if epoch is None:
            epoch = self.reputation.latest_epoch()
            while epoch > 0 and not self.reputation.get_epoch(epoch).posted:
                epoch -= 1
            if epoch == 0:
                return {}
        return dict(recompute_epoch(self.net, epoch, walks=walks).scores)


def connect_network(
    rpc: str | None = None,
    deployments: str | Path | None = None,
    store: str | Path | None = None,
    *,
    config: str | Path | None = None,
) -> MeritnetClient:
    """Connect to the meritnet deployment recorded for ``rpc``'s chain, with its content store.

    ``store``: ``embedded``, ``embedded:PATH``, a folder (``Path``: an embedded store there), an
    IPFS API multiaddr or ``http://host:port``."""
    s = load_settings(Path(config) if config is not None else None)
    uri = rpc or (s.rpc if s.rpc != "eth-tester://" else DEFAULT_RPC)
    net = load_deployment(connect(str(uri)), Path(deployments) if deployments is not None else s.deployments_dir)
    where = f"embedded:{store}" if isinstance(store, Path) else (store or s.store)
    return MeritnetClient(net, open_store(where))

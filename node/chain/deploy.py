"""Deploy meritnet's contracts and keep a record of every deployment.

Records live in ``<deployments>/<chain-id>.json``: the current deployment (addresses, ABI
hashes, block numbers, deployer) and every earlier one under ``history``, so deploying again
never loses a record. In-process chains (eth-tester) vanish with their process, so their
deployments are not written to disk.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from web3 import Web3

from node.chain.compiler import Artifact, compile_contracts
from node.chain.contracts import MeritToken, Registry, ReputationOracle, RewardVault, TaskManager
from node.chain.disputes import DisputeGame, GameParams, RefereeCommittee
from node.chain.provider import is_in_process
from node.chain.reverts import RevertDecoder
from node.chain.transactor import Sender, Transactor, address_of
from node.errors import DeploymentError

__all__ = ["CORE_CONTRACTS", "ADMIN_CONTRACTS", "DeployParams", "ContractRecord", "Deployment", "Network", "deploy", "ensure_deployed",
           "hand_over_admin", "load_deployment", "record_deployment"]  # fmt: skip

logger = logging.getLogger(__name__)

CORE_CONTRACTS = ("MeritToken", "Registry", "RewardVault", "TaskManager", "ReputationOracle", "RefereeCommittee", "DisputeGame")
# Contracts with an AccessControl admin (RefereeCommittee and DisputeGame have none).
ADMIN_CONTRACTS = ("MeritToken", "Registry", "RewardVault", "TaskManager", "ReputationOracle")
DEFAULT_ADMIN_ROLE = b"\x00" * 32


@dataclass(frozen=True)
class DeployParams:
    """Constructor parameters of a deployment."""

    min_stake: int = 10**18
    unbonding_delay: int = 7 * 24 * 3600
    max_pending_unbonds: int = 8
    referee_stake: int = 100 * 10**18  # the committee's stake floor: the cost of one referee identity
    threshold_numerator: int = 2  # a verdict needs signers with more than 2/3 of the snapshot's weight
    threshold_denominator: int = 3
    claim_window: int = 30 * 24 * 3600  # seconds claims stay open after a round is finalized
    token_cap: int = 10**9 * 10**18  # the most MERIT that can ever be minted
    dispute_bond: int = 10**18
    move_duration: int = 3600
    verdict_duration: int = 6 * 3600
    slash_bps: int = 5000
    reward_bps: int = 5000
    epoch_post_window: int = 24 * 3600  # seconds a started reputation epoch stays open for its root

    @property
    def game(self) -> GameParams:
        return GameParams(self.dispute_bond, self.move_duration, self.verdict_duration, self.slash_bps, self.reward_bps)


@dataclass(frozen=True)
class ContractRecord:
    address: str
    abi_hash: str
    block: int


@dataclass(frozen=True)
class Deployment:
    """Where meritnet lives on one chain."""

    chain_id: int
    deployer: str
    contracts: dict[str, ContractRecord]
    params: DeployParams = field(default_factory=DeployParams)
    deployed_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        try:
            if not isinstance(data, dict) or not isinstance(data["contracts"], dict):
                raise TypeError("expected an object with a 'contracts' object")
            return cls(
                chain_id=int(data["chain_id"]),
                deployer=data["deployer"],
                contracts={k: _contract_record(k, v) for k, v in data["contracts"].items()},
                params=DeployParams(**{k: v for k, v in data.get("params", {}).items() if k in _PARAM_NAMES}),
                deployed_at=float(data.get("deployed_at", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DeploymentError(f"malformed deployment record: {exc}", hint="deploy again with --force") from exc


_PARAM_NAMES = {f.name for f in fields(DeployParams)}


def _contract_record(name: str, value: Any) -> ContractRecord:
    record = ContractRecord(**value)
    if not (isinstance(record.address, str) and Web3.is_address(record.address)):
        raise ValueError(f"{name}: address {record.address!r} is not an Ethereum address")
    if not isinstance(record.abi_hash, str) or type(record.block) is not int:
        raise TypeError(f"{name}: abi_hash must be a string and block an integer")
    return ContractRecord(Web3.to_checksum_address(record.address), record.abi_hash, record.block)


class Network:
    """The deployed contracts on one chain, with typed clients."""

    def __init__(self, w3: Web3, deployment: Deployment, artifacts: dict[str, Artifact] | None = None) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.artifacts = artifacts or compile_contracts()
        self.tx = Transactor(w3, RevertDecoder(a.abi for a in self.artifacts.values()))
        self.token = MeritToken(self._contract("MeritToken"), self.tx)
        self.registry = Registry(self._contract("Registry"), self.tx)
        self.vault = RewardVault(self._contract("RewardVault"), self.tx)
        self.tasks = TaskManager(self._contract("TaskManager"), self.tx)
        self.reputation = ReputationOracle(self._contract("ReputationOracle"), self.tx)
        self.committee = RefereeCommittee(self._contract("RefereeCommittee"), self.tx)
        self.disputes = DisputeGame(self._contract("DisputeGame"), self.tx)

    def _contract(self, name: str) -> Any:
        record = self.deployment.contracts[name]
        return self.w3.eth.contract(address=record.address, abi=self.artifacts[name].abi)


def deploy(
    w3: Web3, deployer: Sender, params: DeployParams = DeployParams(), *, artifacts: dict[str, Artifact] | None = None, poster: str | None = None
) -> Network:
    """Deploy and wire the core contracts; return the network (nothing is written to disk).

    ``poster`` (default: the deployer) holds the reputation oracle's POSTER_ROLE."""
    artifacts = artifacts or compile_contracts()
    tx = Transactor(w3, RevertDecoder(a.abi for a in artifacts.values()))
    admin = address_of(deployer)
    records: dict[str, ContractRecord] = {}

    def _deploy(name: str, *args: Any) -> str:
        art = artifacts[name]
        receipt = tx.deploy(w3.eth.contract(abi=art.abi, bytecode=art.bytecode), deployer, *args)
        address = str(receipt["contractAddress"])
        records[name] = ContractRecord(address, art.abi_hash, int(receipt["blockNumber"]))
        logger.info("deployed %s at %s", name, address)
        return address

    token = _deploy("MeritToken", admin, params.token_cap)
    registry = _deploy("Registry", admin, token, params.min_stake, params.unbonding_delay, params.max_pending_unbonds)
    vault = _deploy("RewardVault", admin, token, params.claim_window)
    task_manager = _deploy("TaskManager", admin, registry, vault)
    _deploy("ReputationOracle", admin, Web3.to_checksum_address(poster) if poster else admin, params.epoch_post_window)
    committee = _deploy("RefereeCommittee", registry, params.referee_stake, params.threshold_numerator, params.threshold_denominator)
    game = _deploy("DisputeGame", registry, token, task_manager, committee, params.game.as_tuple())
    deployment = Deployment(int(w3.eth.chain_id), admin, records, params, time.time())
    network = Network(w3, deployment, artifacts)
    network.vault.bind(deployer, task_manager)
    network.committee.bind_game(deployer, game)
    for slasher in (task_manager, game, committee):
        network.registry.grant_slasher(deployer, slasher)
    for locker in (task_manager, committee):
        network.registry.grant_locker(deployer, locker)
    network.tasks.grant_dispute_role(deployer, game)
    return network


def hand_over_admin(network: Network, deployer: Sender, admin: str | None) -> None:
    """Give DEFAULT_ADMIN_ROLE (and the token's MINTER_ROLE) of every contract to ``admin``,
    or to nobody when ``admin`` is None, and drop the deployer's. Nothing can be wired or
    minted by the deployer afterwards."""
    me = address_of(deployer)
    token_contract = network.token.contract
    minter = bytes(token_contract.functions.MINTER_ROLE().call())
    for name in ADMIN_CONTRACTS:
        client = network._contract(name)
        roles = [DEFAULT_ADMIN_ROLE] + ([minter] if name == "MeritToken" else [])
        for role in roles:
            if admin is not None and admin.lower() != me.lower():
                network.tx.send(client.functions.grantRole(role, admin), deployer)
        # The admin role last: renouncing it first would forbid the grants above.
        for role in reversed(roles):
            if admin is None or admin.lower() != me.lower():
                network.tx.send(client.functions.renounceRole(role, me), deployer)


def deployment_file(directory: Path, chain_id: int) -> Path:
    return directory / f"{chain_id}.json"


def load_deployment(
    w3: Web3, directory: str | Path = "deployments", *, artifacts: dict[str, Artifact] | None = None, check: bool = True
) -> Network:
    """The network recorded for ``w3``'s chain in ``directory`` (default ``./deployments``); checks it is live."""
    directory = Path(directory).expanduser()
    chain_id = int(w3.eth.chain_id)
    path = deployment_file(directory, chain_id)
    if not path.exists():
        raise DeploymentError(
            f"no meritnet deployment for chain {chain_id} in {directory}",
            hint="run `meritnet deploy --rpc <url>` first, or pass --deployments",
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DeploymentError(f"{path} is not valid JSON: {exc}", hint="deploy again with --force") from exc
    deployment = Deployment.from_json(data.get("current", {}) if isinstance(data, dict) else data)
    if deployment.chain_id != chain_id:
        raise DeploymentError(
            f"{path} records chain id {deployment.chain_id} but the node reports {chain_id}",
            hint="point --rpc at the right node or deploy again",
        )
    network = Network(w3, deployment, artifacts)
    if check:
        _check_live(network)
    return network


def _check_live(network: Network) -> None:
    for name in CORE_CONTRACTS:
        record = network.deployment.contracts.get(name)
        if record is None:
            raise DeploymentError(f"deployment record lacks {name}", hint="deploy again with --force")
        if not network.w3.eth.get_code(record.address):
            raise DeploymentError(
                f"{name} has no code at {record.address} on chain {network.deployment.chain_id} (was the devnet reset?)",
                hint="run `meritnet deploy` again",
            )
        if record.abi_hash != network.artifacts[name].abi_hash:
            raise DeploymentError(
                f"{name} at {record.address} was deployed from other sources than these",
                hint="run `meritnet deploy --force` to deploy the current contracts",
            )


def ensure_deployed(
    w3: Web3,
    deployer: Sender,
    directory: Path,
    params: DeployParams = DeployParams(),
    *,
    force: bool = False,
    artifacts: dict[str, Artifact] | None = None,
    poster: str | None = None,
) -> tuple[Network, bool]:
    """Reuse the live recorded deployment, or deploy and record a new one.

    Returns the network and whether it was deployed now. An earlier record is kept under
    ``history`` in the same file.
    """
    artifacts = artifacts or compile_contracts()
    if not force and not is_in_process(w3):
        try:
            return load_deployment(w3, directory, artifacts=artifacts), False
        except DeploymentError as exc:
            logger.info("deploying: %s", exc)
    network = deploy(w3, deployer, params, artifacts=artifacts, poster=poster)
    if not is_in_process(w3):
        record_deployment(directory, network.deployment)
    return network, True


def record_deployment(directory: Path, deployment: Deployment) -> None:
    """Write ``deployment`` as the current record of its chain, keeping older ones in history."""
    directory.mkdir(parents=True, exist_ok=True)
    path = deployment_file(directory, deployment.chain_id)
    history: list[Any] = []
    if path.exists():
        try:
            old = json.loads(path.read_text())
            history = [*old.get("history", []), *([old["current"]] if "current" in old else [])]
        except (json.JSONDecodeError, AttributeError):
            backup = path.with_suffix(f".corrupt-{int(time.time())}.json")
            path.replace(backup)
            logger.warning("kept an unreadable deployment record as %s", backup)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"current": deployment.to_json(), "history": history}, indent=2))
    tmp.replace(path)

"""``meritnet task create``, ``meritnet trainer run``, ``meritnet aggregator run``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from node.chain.faucet import is_devnet
from node.chain.transactor import Sender
from node.cli.common import (
    ConfigOption,
    DeploymentsOption,
    JsonOption,
    RpcOption,
    console,
    emit,
    err_console,
    open_network,
    sender_for,
    settings,
)
from node.config import Settings, read_secret_file
from node.errors import ConfigError
from node.paths import state_dir
from node.roles.aggregator import Aggregator
from node.roles.common import run_daemon
from node.roles.owner import TaskSetup, publish_task
from node.roles.referee import Member, RefereeNode
from node.roles.trainer import Trainer
from node.roles.verifier import Verifier
from node.storage import ContentStore, open_store
from node.training.data import Dataset, dataset_for, load_digits, load_npz
from node.training.models import get_model
from node.training.loop import TrainConfig
from node.units import AMOUNT_FIELDS, format_merit
from verifier.dispute.bls import KeyPair, g1_to_sol

task_app = typer.Typer(help="Create training tasks (task owner).", no_args_is_help=True)
trainer_app = typer.Typer(help="Run a trainer node.", no_args_is_help=True)
aggregator_app = typer.Typer(help="Run the aggregator of a task.", no_args_is_help=True)
verifier_app = typer.Typer(help="Run a verifier: re-execute submissions, dispute the ones that do not reproduce.", no_args_is_help=True)
referee_app = typer.Typer(help="Run a referee: decide located disputes, vote with a BLS signature, submit verdicts.", no_args_is_help=True)

StoreOption = Annotated[str | None, typer.Option("--store", help="Content store: embedded (default, ./.meritnet/store), embedded:PATH, /ip4/127.0.0.1/tcp/5001 or http://host:port. Env: MERITNET_STORE.")]
AccountOption = Annotated[str | None, typer.Option("--account", help="Act as this unlocked account of the node (devnets); else the configured key.")]
TaskOption = Annotated[int, typer.Option("--task", help="Task id.")]
TimeoutOption = Annotated[float | None, typer.Option("--timeout", help="Give up after this many seconds.")]
MineEmptyOption = Annotated[bool, typer.Option("--mine-empty-blocks", help="Devnets only: mine an empty block when the wall clock passed a deadline the chain's time has not (a node that mines only on demand).")]


def _store(s: Settings, uri: str | None) -> ContentStore:
    return open_store(uri or s.store, default_dir=state_dir() / "store")


def _sender(s: Settings, w3: Any, account: str | None) -> Sender:
    return sender_for(s, w3, account)


def _check_task(net: Any, task: int, show: Any, timeout: float | None) -> None:
    """Fail with the fix for a task that does not exist; wait (saying so once) for the next one."""
    count = net.tasks.task_count()
    if 1 <= task <= count:
        return
    known = f"tasks on this deployment: 1..{count}" if count else "no task exists on this deployment yet"
    if task != count + 1:
        raise ConfigError(f"task {task} does not exist on chain {net.deployment.chain_id} ({known})",
                          hint="pass --task with an existing id (`meritnet query task ID`), or create one with `meritnet task create`")  # fmt: skip
    show({"role": "node", "address": "-", "task": task, "event": "waiting", "message": f"waiting for task {task} to be created ({known})"})
    deadline = None if timeout is None else time.monotonic() + timeout
    while net.tasks.task_count() < task:
        if deadline is not None and time.monotonic() > deadline:
            raise ConfigError(f"task {task} was not created within {timeout:g} s", hint="create it with `meritnet task create`")
        time.sleep(1.0)


def _mine_empty(net: Any, wanted: bool) -> bool:
    if wanted and not is_devnet(net.w3):
        raise ConfigError("--mine-empty-blocks is for devnets only (chain id 31337 or 1337)", hint="on a real chain blocks come by themselves: drop the option")
    return wanted


def _value(key: str, value: Any) -> Any:
    if key == "message":
        return f"{value}"
    return format_merit(value) if type(value) is int and key in AMOUNT_FIELDS else value


def _printer(as_json: bool) -> Any:
    def show(event: dict[str, Any]) -> None:
        if as_json:
            print(json.dumps(event), flush=True)
        else:
            details = " ".join(f"{k}={_value(k, v)}" for k, v in event.items() if k not in ("role", "address", "task", "event"))
            console.log(f"{event['role']} {event['address'][:10]} {event['event']} {details}", highlight=False)

    return show


def _dataset(data: str | None, model: str) -> Dataset:
    if data is None:
        return dataset_for(model)
    if data == "digits":
        return load_digits()
    if data == "text":
        from node.training.text import load_text

        return load_text(get_model(model).context or 128)
    return load_npz(Path(data))


@task_app.command("create")
def create(
    aggregator: Annotated[str, typer.Option("--aggregator", help="Address of the aggregator to appoint.")],
    data: Annotated[str | None, typer.Option("--data", help="digits (scikit-learn's, shipped), text (Python's stdlib source, for the GPT) or a PATH.npz with arrays X and y; default: the model's.")] = None,
    model: Annotated[str, typer.Option(help="mlp, cnn, gpt (byte language model) or gpt-mini.")] = "mlp",
    steps: Annotated[int, typer.Option(help="Training steps per round (K).")] = 20,
    batch_size: Annotated[int | None, typer.Option(help="Samples per step (default 32; the GPT's recipe: 16).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default 0.1; the GPT's recipe: 3e-3).")] = None,
    optimizer: Annotated[str | None, typer.Option(help="sgd (momentum 0.9) or adam (betas 0.9/0.999, eps 1e-8; try --lr 0.01); the GPT's recipe: adam with weight decay, clipping and a cosine schedule.")] = None,
    backend: Annotated[str, typer.Option(help="Operator backend: stock, or repops for verifiable tasks.")] = "stock",
    compression: Annotated[str | None, typer.Option(help="Compress published deltas: topk:F (keep the fraction F of largest entries per tensor), int8 (8-bit, one scale per tensor), both as topk:0.1,int8, or none (default).")] = None,
    rounds: Annotated[int, typer.Option(help="Number of rounds.")] = 3,
    reward: Annotated[int, typer.Option(help="Reward per round in whole MERIT.")] = 100,
    shards: Annotated[int, typer.Option(help="Data shards.")] = 4,
    phase_seconds: Annotated[int, typer.Option(help="Duration of each phase in seconds (a round has four; on a devnet try 30).")] = 600,
    store: StoreOption = None, account: AccountOption = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Upload the data shards, training config and initial model, fund the reward budget, create the task."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    dataset = _dataset(data, model)
    cfg = TrainConfig.for_model(model, steps=steps, batch_size=batch_size, lr=lr, optimizer=optimizer, backend=backend, compression=compression)
    setup = TaskSetup(aggregator=aggregator, reward_per_round=reward * 10**18, rounds=rounds, shards=shards, phase_seconds=phase_seconds,
                      name=data or ("text" if get_model(model).tokens else "digits"))  # fmt: skip
    if phase_seconds >= 600 and is_devnet(net.w3):
        err_console.print(f"note: phases of {phase_seconds} s make a round take {4 * phase_seconds // 60} minutes; on a devnet try --phase-seconds 30", highlight=False)
    task_id = publish_task(net, _store(s, store), _sender(s, net.w3, account), dataset, cfg, setup)
    emit({"task": task_id, "config": json.loads(cfg.to_bytes())}, json_)


@trainer_app.command("run")
def trainer_run(
    task: TaskOption,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    journal: Annotated[Path | None, typer.Option(help="Journal and checkpoints folder (resumable). Default ./.meritnet/trainer.")] = None,
    stake: Annotated[int | None, typer.Option(help="Stake to register with, in token units (default: the task's minimum).")] = None,
    store: StoreOption = None, account: AccountOption = None, timeout: TimeoutOption = None, mine_empty_blocks: MineEmptyOption = False,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Register (stake), then train, commit, reveal and claim every round of the task until it completes.

    Killed and restarted with the same --journal, it resumes without double submission."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    sender = _sender(s, net.w3, account)
    _check_task(net, task, _printer(json_), timeout)
    node = Trainer(net, _store(s, store), sender, task, journal_dir=journal or state_dir() / "trainer",
                   device=device, stake=stake, on_event=_printer(json_), mine_empty=_mine_empty(net, mine_empty_blocks))  # fmt: skip
    node.run(timeout=timeout)


@aggregator_app.command("run")
def aggregator_run(
    task: TaskOption,
    store: StoreOption = None, account: AccountOption = None, timeout: TimeoutOption = None, mine_empty_blocks: MineEmptyOption = False,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Score and aggregate every round of the task, post results, and move phases on."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    sender = _sender(s, net.w3, account)
    _check_task(net, task, _printer(json_), timeout)
    Aggregator(net, _store(s, store), sender, task, on_event=_printer(json_), mine_empty=_mine_empty(net, mine_empty_blocks)).run(timeout=timeout)


@verifier_app.command("run")
def verifier_run(
    task: TaskOption,
    fraction: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of each round's submissions to re-execute (a deterministic draw).")] = 1.0,
    stake: Annotated[int | None, typer.Option(help="Stake to register with, in token units (default: the minimum).")] = None,
    store: StoreOption = None, account: AccountOption = None, timeout: TimeoutOption = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Re-execute revealed submissions of a verifiable (RepOps) task, open a dispute (with a bond)
    for each that does not reproduce bit for bit, play it to the end, and check each round's
    scores root against a recomputation."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    sender = _sender(s, net.w3, account)
    _check_task(net, task, _printer(json_), timeout)
    Verifier(net, _store(s, store), sender, task, fraction=fraction, stake=stake, on_event=_printer(json_)).run(timeout=timeout)


@referee_app.command("run")
def referee_run(
    key_file: Annotated[Path | None, typer.Option("--key-file", help="File holding the BLS secret key (hex). Env: MERITNET_BLS_KEY_FILE.")] = None,
    stake: Annotated[int, typer.Option(help="Stake to register with, in token units.")] = 10**18,
    store: StoreOption = None, account: AccountOption = None, timeout: TimeoutOption = None,
    rpc: RpcOption = None, deployments: DeploymentsOption = None, config: ConfigOption = None, json_: JsonOption = False,
) -> None:  # fmt: skip
    """Register as a referee (stake, BLS key with proof of possession), then for every dispute
    awaiting a verdict: fetch the parties' evidence, recompute the one operator, vote, and
    submit the aggregate verdict once a threshold agrees."""
    s = settings(config, rpc=rpc, deployments=deployments)
    net = open_network(s)
    path = key_file or (Path(os.environ["MERITNET_BLS_KEY_FILE"]) if os.environ.get("MERITNET_BLS_KEY_FILE") else None)
    if path is None:
        raise ConfigError("a referee needs its BLS key", hint="create one with `meritnet referee keygen referee.key` and pass --key-file referee.key")
    try:
        secret = int(read_secret_file(path, "BLS key"), 16)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"the BLS key file {path} does not hold a hex secret", hint="create one with `meritnet referee keygen FILE`") from None
    node = RefereeNode(net, _store(s, store), Member(_sender(s, net.w3, account), KeyPair(secret)), stake=stake, on_event=_printer(json_))
    run_daemon("referee", node.ensure_registered, node.step, node.emit, poll=0.5, timeout=timeout)


@referee_app.command("keygen")
def referee_keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the key (hex secret, readable only by you).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json_: JsonOption = False,
) -> None:
    """Create a referee's BLS key file (a random secret on BN254) for `meritnet referee run --key-file`."""
    if path.exists() and not force:
        raise ConfigError(f"{path} exists", hint="pick another path, or pass --force to replace the key (the old one is lost)")
    key = KeyPair.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"{key.secret:064x}\n")
    pk = g1_to_sol(key.pk1)
    emit({"key_file": str(path), "public_key_g1": [hex(pk[0]), hex(pk[1])]}, json_)

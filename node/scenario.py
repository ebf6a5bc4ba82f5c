"""Demo scenarios: honest, adversarial and Sybil networks, every role stepped in one process.

``adversarial`` (the default): three honest trainers, a lazy one (zero delta), a copycat
(submits an honest trainer's delta and trace), a label-flipper, a Sybil cluster (one owner's
three identities: one trains, two submit its delta, and they endorse each other through
side tasks), an honest verifier that re-executes every submission, a dishonest verifier that
accuses an honest trainer, and a referee committee of three equal stakes (a verdict needs more than 2/3 of the stake: all three). ``sybil`` is the honest trainers
plus the Sybil cluster; ``honest`` the honest trainers alone. The task is verifiable (RepOps),
so every submission can be disputed. A reputation epoch (MeritRank from the task owner) is
posted after every round and weights the next round's rewards.

The report has, per identity: role, behaviour, stake before and after, amount slashed,
rewards, reputation, disputes won and lost; per round: accuracy and rewards; per epoch:
reputation; and the trust graph. :func:`write_plots` draws it as PNG files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.chain.contracts import TaskConfig
from node.chain.deploy import DeployParams, Network, deploy, record_deployment
from node.chain.disputes import Stage
from node.chain.provider import connect, is_in_process
from node.chain.reputation import edge_records, post_epoch
from node.errors import ConfigError, MeritnetError
from node.roles.aggregator import Aggregator
from node.roles.clock import DevnetClock
from node.roles.owner import TaskSetup, publish_task
from node.roles.referee import Member, RefereeNode
from node.roles.trainer import Trainer
from node.roles.verifier import Verifier
from node.storage import ContentStore, open_store
from node.training.data import dataset_for
from node.training.loop import TrainConfig
from node.training.models import get_model
from verifier.dispute.bls import KeyPair

__all__ = ["SCENARIOS", "ScenarioConfig", "run_scenario", "write_plots"]

logger = logging.getLogger(__name__)
TOKEN = 10**18
SCENARIOS = ("honest", "adversarial", "sybil")
CHEATING = ("lazy", "copycat", "label-flip", "sybil", "false-accuser")


@dataclass(frozen=True)
class ScenarioConfig:
    scenario: str = "adversarial"
    model: str = "mlp"  # or cnn, gpt, gpt-mini (the GPT on its stdlib text)
    rounds: int = 2
    steps: int = 12
    reward: int = 100  # MERIT per round
    rpc: str | None = None  # None: the in-process chain
    store: str | None = None  # None: an embedded store in the output folder
    max_ticks: int = 2000
    walks: int = 10_000  # what the aggregator's recomputation of an epoch uses

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ConfigError(f"unknown scenario {self.scenario!r}", hint=f"one of {', '.join(SCENARIOS)}")


@dataclass
class Identity:
    name: str
    address: str
    role: str
    behaviour: str
    node: Any = None
    stake_before: int = 0
    balance_before: int = 0


@dataclass
class Cast:
    """Who plays in a scenario, by account index (0: owner, 1: aggregator)."""

    identities: list[Identity] = field(default_factory=list)

    def add(self, name: str, address: str, role: str, behaviour: str) -> Identity:
        ident = Identity(name, address, role, behaviour)
        self.identities.append(ident)
        return ident

    def by_name(self, name: str) -> Identity:
        return next(i for i in self.identities if i.name == name)


def _roles(scenario: str) -> list[tuple[str, str, str]]:
    """(name, role, behaviour) of every identity after the owner and the aggregator."""
    honest = [(f"honest-{i}", "trainer", "honest") for i in (1, 2, 3)]
    sybils = [("sybil-a", "trainer", "sybil"), ("sybil-b", "trainer", "sybil"), ("sybil-c", "trainer", "sybil")]
    if scenario == "honest":
        return honest
    if scenario == "sybil":
        return [*honest, *sybils]
    return [*honest, ("lazy", "trainer", "lazy"), ("copycat", "trainer", "copycat"), ("label-flip", "trainer", "label-flip"), *sybils,
            ("verifier", "verifier", "honest"), ("false-accuser", "verifier", "false-accuser"),
            ("referee-1", "referee", "honest"), ("referee-2", "referee", "honest"), ("referee-3", "referee", "honest")]  # fmt: skip


def run_scenario(cfg: ScenarioConfig, out: Path, *, on_event: Callable[[dict[str, Any]], None] = lambda _e: None) -> dict[str, Any]:
    """Run the scenario to the end of its task; return the report."""
    out.mkdir(parents=True, exist_ok=True)
    roles = _roles(cfg.scenario)
    needed = len(roles) + 2
    w3 = connect(cfg.rpc or f"eth-tester://?accounts={needed}")
    accounts = list(w3.eth.accounts)
    if len(accounts) < needed:
        raise ConfigError(f"the node holds {len(accounts)} unlocked accounts; the {cfg.scenario} scenario needs {needed}",
                          hint="anvil: `meritnet devnet start` starts it with enough accounts")  # fmt: skip
    owner, aggregator_address = accounts[0], accounts[1]
    on_event({"event": "deploying", "scenario": cfg.scenario})
    # Dispute moves get a day each: the devnet clock jumps round phases (10 minutes) while disputes run.
    net = deploy(w3, owner, DeployParams(min_stake=TOKEN, move_duration=86_400, verdict_duration=2 * 86_400))
    if not is_in_process(w3):
        record_deployment(out / "deployments", net.deployment)
    for account in accounts[:needed]:
        net.token.mint(owner, account, 1_000 * TOKEN)
    store = open_store(cfg.store or f"embedded:{out / 'store'}", default_dir=out / "store")
    train_cfg = TrainConfig.for_model(cfg.model, steps=cfg.steps, backend="repops", shapley_every=0)  # Shapley diagnostics off: 2^n evaluations
    trainers = sum(1 for _, role, _ in roles if role == "trainer")
    setup = TaskSetup(aggregator=aggregator_address, reward_per_round=cfg.reward * TOKEN, rounds=cfg.rounds, shards=max(2, trainers),
                      phase_seconds=600, min_stake=TOKEN, no_reveal_penalty=TOKEN, name="text" if get_model(cfg.model).tokens else "digits")  # fmt: skip
    task_id = publish_task(net, store, owner, dataset_for(cfg.model), train_cfg, setup)
    on_event({"event": "task-created", "task": task_id, "scenario": cfg.scenario, "identities": len(roles)})

    cast = Cast()
    events: list[dict[str, Any]] = []

    def record(event: dict[str, Any]) -> None:
        events.append(event)
        on_event(event)

    cast.add("owner", owner, "owner", "honest")
    aggregator = cast.add("aggregator", aggregator_address, "aggregator", "honest")
    aggregator.node = Aggregator(net, store, aggregator_address, task_id, on_event=record, fetch_timeout=5)
    for (name, role, behaviour), address in zip(roles, accounts[2:needed], strict=True):
        cast.add(name, address, role, behaviour)
    _make_nodes(cast, net, store, task_id, out, record)
    for ident in cast.identities:
        if ident.node is not None:
            ident.node.ensure_registered()
        ident.stake_before = net.registry.slashable_of(ident.address)
        ident.balance_before = net.token.balance_of(ident.address)
    sybils = [i for i in cast.identities if i.behaviour == "sybil"]
    _endorse_each_other(net, sybils)

    clock = DevnetClock(net, task_id, trainers=trainers, grace=2.0)
    # Verifiers and referees step before the aggregator: disputes open as the Score phase starts,
    # and the aggregator scores once they settle (their losers are disqualified).
    order = {"trainer": 0, "verifier": 1, "referee": 2, "aggregator": 3}
    steppers = [i.node.step for i in sorted(cast.identities, key=lambda i: order.get(i.role, 4)) if i.node is not None]
    net.reputation.grant_poster(owner, owner)
    epochs: list[dict[str, float]] = []
    posted_rounds: set[int] = set()
    for _ in range(cfg.max_ticks):
        busy = [step() for step in steppers]
        for r in range(1, net.tasks.get_task(task_id).current_round + 1):
            if r not in posted_rounds and net.tasks.is_finalized(task_id, r):
                posted_rounds.add(r)
                epoch, result = post_epoch(net, owner, owner, walks=cfg.walks, store=store)
                epochs.append(result.scores)
                record({"event": "reputation-posted", "epoch": epoch, "round": r})
        if not any(busy) and net.tasks.is_complete(task_id):
            break
        clock.tick()
    else:
        raise MeritnetError(f"the {cfg.scenario} scenario did not finish within {cfg.max_ticks} ticks")
    return _report(net, store, task_id, cast, epochs, events, cfg)


def _make_nodes(cast: Cast, net: Network, store: ContentStore, task_id: int, out: Path, record: Callable[[dict[str, Any]], None]) -> None:
    journal = out / "journal"
    by_name = {i.name: i for i in cast.identities}
    for ident in cast.identities:
        if ident.role == "trainer":
            behaviour = {"sybil": "honest"}.get(ident.behaviour, ident.behaviour)
            copy_from = None
            if ident.behaviour == "copycat":
                copy_from = by_name["honest-1"].node
            elif ident.name in ("sybil-b", "sybil-c"):
                behaviour, copy_from = "copycat", by_name["sybil-a"].node  # one owner's work, three identities
            ident.node = Trainer(net, store, ident.address, task_id, journal_dir=journal, device="cpu", stake=20 * TOKEN, on_event=record,
                                 behaviour=behaviour, copy_from=copy_from)  # fmt: skip
        elif ident.role == "verifier":
            liar = ident.behaviour == "false-accuser"
            accuse = by_name["honest-2"].address if liar else None
            ident.node = Verifier(net, store, ident.address, task_id, fraction=0.0 if liar else 1.0, stake=20 * TOKEN, on_event=record, accuse=accuse)
        elif ident.role == "referee":
            ident.node = RefereeNode(net, store, Member(ident.address, KeyPair.from_seed(f"demo-{ident.name}".encode())), stake=10 * TOKEN,
                                     on_event=record)  # fmt: skip


def _endorse_each_other(net: Network, sybils: list[Identity]) -> None:
    """The Sybil owner's identities endorse each other: each creates a tiny task naming the next
    one as its aggregator (task creation emits an owner -> aggregator reputation edge)."""
    for ident, nxt in zip(sybils, [*sybils[1:], *sybils[:1]], strict=False):
        config = TaskConfig(
            model_cid=b"\x01\x55\x12\x20" + b"\x5a" * 32, data_cid=b"\x01\x55\x12\x20" + b"\x5b" * 32, config_hash=b"\x5c" * 32,
            aggregator=nxt.address, reward_per_round=1, num_rounds=1, commit_duration=60, reveal_duration=60, score_duration=60,
            challenge_duration=60, min_stake=0, no_reveal_penalty=0,
        )  # fmt: skip
        net.token.approve(ident.address, net.vault.address, config.budget)
        net.tasks.create_task(ident.address, config)


def _disputes(net: Network, task_id: int) -> list[dict[str, Any]]:
    out = []
    for d in net.disputes.all(task_id):
        out.append({"id": d.dispute_id, "round": d.round, "defender": d.defender, "challenger": d.challenger, "stage": d.stage.name.lower(),
                    "winner": d.winner.name.lower() if d.stage == Stage.RESOLVED else None, "moves": d.moves,
                    "located": {"step": d.step, "op": d.op} if d.stage >= Stage.AWAIT_VERDICT else None, "slashed": d.slashed})  # fmt: skip
    return out


def _report(net: Network, store: ContentStore, task_id: int, cast: Cast, epochs: list[dict[str, float]], events: list[dict[str, Any]],
            cfg: ScenarioConfig) -> dict[str, Any]:  # fmt: skip
    from node.roles.common import scores_table_json

    task = net.tasks.get_task(task_id)
    rounds, paid = [], {i.address: [0] * task.current_round for i in cast.identities}
    for r in range(1, task.current_round + 1):
        table = scores_table_json(net, store, task_id, r) or {}
        for entry in table.get("entries", []):
            claimed = net.vault.has_claimed(task_id, r, entry["account"])
            paid.setdefault(entry["account"], [0] * task.current_round)[r - 1] = int(entry["amount"]) if claimed else 0
        validation = table.get("validation", {})
        rounds.append({"round": r, "finalized": net.tasks.is_finalized(task_id, r), "accuracy_before": validation.get("accuracy_before"),
                       "accuracy": validation.get("accuracy_after"), "loss_before": validation.get("loss_before"), "loss": validation.get("loss_after"),
                       "paid": sum(v[r - 1] for v in paid.values())})  # fmt: skip
    disputes = _disputes(net, task_id)
    final_rep = epochs[-1] if epochs else {}
    people = []
    for ident in cast.identities:
        won = sum(1 for d in disputes if d["winner"] and ((d["winner"] == "defender" and d["defender"] == ident.address) or (d["winner"] == "challenger" and d["challenger"] == ident.address)))
        lost = sum(1 for d in disputes if d["stage"] == "resolved" and ident.address in (d["defender"], d["challenger"])) - won
        stake_after = net.registry.slashable_of(ident.address)
        people.append({
            "name": ident.name, "address": ident.address, "role": ident.role, "behaviour": ident.behaviour,
            "stake_before": ident.stake_before, "stake_after": stake_after,
            "slashed": max(0, ident.stake_before - stake_after), "rewards": sum(paid.get(ident.address, [])),
            "rewards_per_round": paid.get(ident.address, []), "reputation": final_rep.get(ident.address, 0.0),
            "reputation_per_epoch": [e.get(ident.address, 0.0) for e in epochs],
            "balance_change": net.token.balance_of(ident.address) - ident.balance_before,
            "disputes_won": won, "disputes_lost": lost,
        })  # fmt: skip
    edges = [{"src": e.src, "dst": e.dst, "weight": e.weight} for e in edge_records(net)]
    return {"scenario": cfg.scenario, "model": cfg.model, "task": task_id, "budget": task.config.budget, "rounds": rounds, "identities": people,
            "disputes": disputes, "trust_graph": edges, "epochs": len(epochs),
            "events": sum(1 for e in events if e.get("event") in ("dispute-opened", "voted", "verdict", "disqualified"))}  # fmt: skip


def write_plots(report: dict[str, Any], folder: Path) -> list[Path]:
    """accuracy.png, loss.png, rewards.png, reputation.png, trust_graph.png in ``folder``."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    people = [p for p in report["identities"] if p["role"] in ("trainer", "verifier")]
    paths = []

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([r["round"] for r in report["rounds"]], [r["accuracy"] for r in report["rounds"]], marker="o")
    ax.set(xlabel="round", ylabel="validation accuracy", title="global model accuracy per round")
    paths.append(_save(fig, folder / "accuracy.png"))

    losses = [(r["round"], r["loss"]) for r in report["rounds"] if r.get("loss") is not None]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([r for r, _ in losses], [v for _, v in losses], marker="o")
    ax.set(xlabel="round", ylabel="validation loss (cross-entropy)", title=f"global model ({report.get('model', 'mlp')}) loss per round")
    paths.append(_save(fig, folder / "loss.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    for p in people:
        cumulative, total = [], 0
        for amount in p["rewards_per_round"]:
            total += amount
            cumulative.append(total / TOKEN)
        ax.plot(range(1, len(cumulative) + 1), cumulative, marker="o", label=f"{p['name']} ({p['behaviour']})")
    ax.set(xlabel="round", ylabel="cumulative rewards (MERIT)", title="rewards per identity")
    ax.legend(fontsize=6)
    paths.append(_save(fig, folder / "rewards.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    for p in people:
        ax.plot(range(1, len(p["reputation_per_epoch"]) + 1), p["reputation_per_epoch"], marker="o", label=p["name"])
    ax.set(xlabel="epoch", ylabel="MeritRank from the task owner", title="reputation per epoch")
    ax.legend(fontsize=6)
    paths.append(_save(fig, folder / "reputation.png"))

    names = {p["address"]: p["name"] for p in report["identities"]}
    nodes = sorted({e["src"] for e in report["trust_graph"]} | {e["dst"] for e in report["trust_graph"]})
    pos = {n: (math.cos(2 * math.pi * k / max(1, len(nodes))), math.sin(2 * math.pi * k / max(1, len(nodes)))) for k, n in enumerate(nodes)}
    fig, ax = plt.subplots(figsize=(6, 6))
    for e in report["trust_graph"]:
        (x0, y0), (x1, y1) = pos[e["src"]], pos[e["dst"]]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": "red" if e["weight"] < 0 else "gray", "alpha": 0.6})
    for n, (x, y) in pos.items():
        ax.scatter([x], [y], s=60)
        ax.text(x, y + 0.06, names.get(n, n[:8]), fontsize=7, ha="center")
    ax.set_axis_off()
    ax.set_title("trust graph (reputation edges)")
    paths.append(_save(fig, folder / "trust_graph.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path

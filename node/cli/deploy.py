"""``meritnet deploy``: deploy the contracts (idempotent) and record where they are."""

from __future__ import annotations

from typing import Annotated

import typer

from node.chain.deploy import DeployParams, ensure_deployed
from node.chain.provider import is_in_process
from node.chain.queries import deployment_info
from node.cli.common import ConfigOption, DeploymentsOption, JsonOption, RpcOption, console, default_sender, emit, open_chain, settings


def deploy(
    rpc: RpcOption = None,
    deployments: DeploymentsOption = None,
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Deploy anew even if a live deployment is recorded (the old record is kept in history).")] = False,
    min_stake: Annotated[int, typer.Option(help="Global minimum stake, in token units (1e-18 MERIT).")] = DeployParams.min_stake,
    unbonding_delay: Annotated[int, typer.Option(help="Seconds between an unbond request and its release.")] = DeployParams.unbonding_delay,
    max_pending_unbonds: Annotated[int, typer.Option(help="Cap on pending unbonds per account.")] = DeployParams.max_pending_unbonds,
    json_: JsonOption = False,
) -> None:
    """Deploy MeritToken, Registry, RewardVault and TaskManager, wired together.

    Reuses the recorded deployment when it is live on the chain; `--force` deploys anew.
    """
    s = settings(config, rpc=rpc, deployments=deployments)
    w3 = open_chain(s)
    params = DeployParams(min_stake, unbonding_delay, max_pending_unbonds)
    net, created = ensure_deployed(w3, default_sender(w3, s), s.deployments_dir, params, force=force)
    info = deployment_info(net)
    info["created"] = created
    info["record"] = None if is_in_process(w3) else str(s.deployments_dir / f"{net.deployment.chain_id}.json")
    if json_:
        emit(info, True)
        return
    verb = "deployed" if created else "already deployed (use --force to deploy anew)"
    console.print(f"meritnet {verb} on chain {info['chain_id']}")
    for name, address in info["contracts"].items():
        console.print(f"  {name:<12} {address}")
    if info["record"]:
        console.print(f"record: {info['record']}")
    else:
        console.print("in-process chain: nothing recorded (it ends with this command)")

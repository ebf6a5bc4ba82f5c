"""``meritnet deploy``: deploy the contracts (idempotent) and record where they are."""

from __future__ import annotations

from typing import Annotated

import typer

from node.chain.deploy import DeployParams, Network, ensure_deployed
from node.chain.faucet import DEFAULT_FUND, format_merit, fund_accounts, is_devnet, parse_merit
from node.chain.provider import is_in_process
from node.chain.queries import deployment_info
from node.chain.transactor import Sender
from node.cli.common import (
    ConfigOption,
    DeploymentsOption,
    JsonOption,
    RpcOption,
    console,
    default_sender,
    emit,
    open_chain,
    settings,
)
from node.errors import ConfigError


def deploy(
    rpc: RpcOption = None,
    deployments: DeploymentsOption = None,
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Deploy anew even if a live deployment is recorded (the old record is kept in history).")] = False,
    min_stake: Annotated[int, typer.Option(help="Global minimum stake, in token units (1e-18 MERIT).")] = DeployParams.min_stake,
    unbonding_delay: Annotated[int, typer.Option(help="Seconds between an unbond request and its release.")] = DeployParams.unbonding_delay,
    max_pending_unbonds: Annotated[int, typer.Option(help="Cap on pending unbonds per account.")] = DeployParams.max_pending_unbonds,
    fund: Annotated[str, typer.Option("--fund", help="On a devnet, MERIT minted to every unlocked account after a new deployment (0: none). Ignored on other chains.")] = str(DEFAULT_FUND // 10**18),
    poster: Annotated[str | None, typer.Option("--poster", help="Address granted the reputation oracle's POSTER_ROLE (default: the deployer).")] = None,
    epoch_post_window: Annotated[int, typer.Option(help="Seconds a started reputation epoch stays open for its root; an unposted epoch then expires.")] = DeployParams.epoch_post_window,
    json_: JsonOption = False,
) -> None:
    """Deploy meritnet's contracts, wired together; on a devnet, fund every unlocked account.

    Reuses the recorded deployment when it is live on the chain; `--force` deploys anew.
    The deployer (or --poster) may post reputation epochs.
    """
    s = settings(config, rpc=rpc, deployments=deployments)
    w3 = open_chain(s)
    amount = parse_merit(fund)
    if poster is not None and not w3.is_address(poster):
        raise ConfigError(f"--poster {poster!r} is not an Ethereum address", hint="expected 0x followed by 40 hex digits")
    params = DeployParams(min_stake, unbonding_delay, max_pending_unbonds, epoch_post_window=epoch_post_window)
    deployer = default_sender(w3, s)
    net, created = ensure_deployed(w3, deployer, s.deployments_dir, params, force=force, poster=poster)
    funded = fund_after_deploy(net, deployer, amount) if created else 0
    info = deployment_info(net)
    info["created"] = created
    info["funded"] = {"accounts": funded, "amount": amount}
    info["record"] = None if is_in_process(w3) else str(s.deployments_dir / f"{net.deployment.chain_id}.json")
    if json_:
        emit(info, True)
        return
    verb = "deployed" if created else "already deployed (use --force to deploy anew)"
    console.print(f"meritnet {verb} on chain {info['chain_id']}")
    for name, address in info["contracts"].items():
        console.print(f"  {name:<12} {address}")
    if funded:
        console.print(f"devnet: minted {format_merit(amount)} to each of {funded} unlocked accounts")
    elif created and amount and not is_devnet(net.w3):
        console.print("not a devnet: no MERIT minted (--fund applies to devnets only)")
    if info["record"]:
        console.print(f"record: {info['record']}")
    else:
        console.print("in-process chain: nothing recorded (it ends with this command)")


def fund_after_deploy(net: Network, deployer: Sender, amount: int) -> int:
    """The step after deploying: on a devnet, mint ``amount`` to every unlocked account.

    Returns how many accounts were funded (0 on other chains or for ``--fund 0``)."""
    return len(fund_accounts(net, deployer, amount))

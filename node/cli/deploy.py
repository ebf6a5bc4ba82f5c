"""``meritnet deploy``: deploy the contracts (idempotent) and record where they are."""

from __future__ import annotations

from typing import Annotated

import typer

from node.chain.deploy import DeployParams, Network, ensure_deployed, hand_over_admin
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
    referee_stake: Annotated[int, typer.Option(help="The referee committee's stake floor, in token units.")] = DeployParams.referee_stake,
    admin: Annotated[str | None, typer.Option("--admin", help="Hand DEFAULT_ADMIN_ROLE (and minting) of every contract to this address after deploying.")] = None,
    renounce_admin: Annotated[bool, typer.Option("--renounce-admin", help="Renounce DEFAULT_ADMIN_ROLE (and minting) of every contract after deploying: nobody holds admin powers.")] = False,
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
    if admin is not None and renounce_admin:
        raise ConfigError("--admin and --renounce-admin exclude each other", hint="pass one of them")
    if admin is not None and not w3.is_address(admin):
        raise ConfigError(f"--admin {admin!r} is not an address", hint="expected 0x followed by 40 hex digits")
    params = DeployParams(
        min_stake, unbonding_delay, max_pending_unbonds, referee_stake=referee_stake, epoch_post_window=epoch_post_window
    )
    deployer = default_sender(w3, s)
    net, created = ensure_deployed(w3, deployer, s.deployments_dir, params, force=force, poster=poster)
    # Order matters: funding mints, which needs the deployer's minter role, which the hand-over drops.
    funded = fund_after_deploy(net, deployer, amount) if created else 0
    if created and (admin is not None or renounce_admin):
        hand_over_admin(net, deployer, w3.to_checksum_address(admin) if admin else None)
    info = deployment_info(net)
    info["created"] = created
    info["funded"] = {"accounts": funded, "amount": amount}
    info["admin"] = admin if admin else (None if renounce_admin else net.deployment.deployer)
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

"""Fixes attached to the reverts and RPC errors a new user meets."""

from __future__ import annotations

from eth_utils import keccak

from node.chain.hints import revert_hint, role_name, rpc_hint

TOKEN = 10**18
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_insufficient_balance_points_to_the_faucet() -> None:
    hint = revert_hint("ERC20InsufficientBalance", {"sender": ALICE, "balance": 0, "needed": 15 * TOKEN // 10})
    assert hint is not None and f"meritnet faucet {ALICE}" in hint and "1.5 MERIT" in hint and "0 MERIT" in hint


def test_missing_role_names_the_role_and_who_holds_it() -> None:
    poster = revert_hint(
        "AccessControlUnauthorizedAccount", {"account": ALICE, "neededRole": keccak(text="POSTER_ROLE")}
    )
    assert poster is not None and "POSTER_ROLE" in poster and "--poster" in poster and "--account" in poster
    minter = revert_hint(
        "AccessControlUnauthorizedAccount", {"account": ALICE, "neededRole": keccak(text="MINTER_ROLE")}
    )
    assert minter is not None and "MINTER_ROLE" in minter and "faucet" in minter
    assert role_name(b"\x00" * 32) == "DEFAULT_ADMIN_ROLE" and role_name("0x" + "ab" * 32) == "0x" + "ab" * 32


def test_unknown_task_and_open_epoch_say_what_to_run() -> None:
    task = revert_hint("TaskManagerUnknownTask", {"taskId": 7})
    assert task is not None and "task 7" in task and "meritnet task create" in task
    epoch = revert_hint("ReputationOracleEpochOpen", {"epoch": 1, "postDeadline": 100})
    assert epoch is not None and "post-epoch" in epoch
    assert revert_hint("SomethingElse", {}) is None


def test_rpc_errors_for_an_account_the_node_cannot_sign_for() -> None:
    for message in ("No Signer available", "unknown account", "Unknown account 0xabc"):
        hint = rpc_hint(message)
        assert hint is not None and "--account" in hint and "MERITNET_PRIVATE_KEY" in hint
    assert "ETH" in (rpc_hint("insufficient funds for gas * price + value") or "")
    assert rpc_hint("nonce too low") is None

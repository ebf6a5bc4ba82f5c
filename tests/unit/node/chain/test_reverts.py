"""One error type for reverts, whatever shape each backend gives them."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3.exceptions import ContractCustomError, ContractLogicError

from node.chain.compiler import Artifact
from node.chain.reverts import RevertDecoder, revert_data

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
STAKE_TOO_LOW = keccak(text="RegistryStakeTooLow(address,uint256,uint256)")[:4] + encode(
    ["address", "uint256", "uint256"], [ALICE, 5, 10]
)


@pytest.fixture(scope="module")
def decoder(artifacts: dict[str, Artifact]) -> RevertDecoder:
    return RevertDecoder(a.abi for a in artifacts.values())


@pytest.mark.parametrize(
    "exc",
    [
        TransactionFailed(STAKE_TOO_LOW),  # eth-tester: raw bytes
        TransactionFailed(f"execution reverted: {STAKE_TOO_LOW!r}"),  # eth-tester: bytes in the message
        ContractCustomError("0x" + STAKE_TOO_LOW.hex(), data="0x" + STAKE_TOO_LOW.hex()),  # anvil
        ContractLogicError("execution reverted", data="0x" + STAKE_TOO_LOW.hex()),  # hardhat
    ],
    ids=["eth-tester-bytes", "eth-tester-message", "anvil", "hardhat"],
)
def test_custom_error_decodes_the_same_from_every_backend(decoder: RevertDecoder, exc: Exception) -> None:
    err = decoder.from_exception(exc, function="register")
    assert err is not None
    assert err.name == "RegistryStakeTooLow"
    assert err.args_dict == {"account": ALICE, "stake": 5, "minimum": 10}
    assert "register reverted: RegistryStakeTooLow(account=" in str(err)


def test_raw_bytes_in_the_cause_win_over_a_text_rendering(decoder: RevertDecoder) -> None:
    outer = TransactionFailed("execution reverted: modelCid")
    outer.__cause__ = TransactionFailed(STAKE_TOO_LOW)
    assert revert_data(outer) == STAKE_TOO_LOW


def test_require_string_and_panic(decoder: RevertDecoder) -> None:
    err = decoder.from_exception(TransactionFailed("execution reverted: not allowed"))
    assert err is not None and err.name == "Error" and err.args_dict == {"message": "not allowed"}
    panic = keccak(text="Panic(uint256)")[:4] + encode(["uint256"], [0x11])
    err = decoder.decode(panic)
    assert err.name == "Panic" and err.args_dict == {"code": 0x11}


def test_unknown_selector_and_non_reverts(decoder: RevertDecoder) -> None:
    err = decoder.decode(b"\xde\xad\xbe\xef" + b"\x00" * 32)
    assert err.name == "unknown"
    assert decoder.from_exception(ValueError("something else")) is None

"""BLS signatures on BN254 (alt_bn128), as the RefereeCommittee contract checks them.

Keys live in both groups: ``pk1 = sk * G1`` and ``pk2 = sk * G2``. A message is hashed to G1
by try-and-increment on keccak256 (``x = keccak(m) mod p``, then ``x + 1`` ... until
``x^3 + 3`` is a square; ``y = (x^3 + 3)^((p+1)/4)``, computed on chain with the 0x05
precompile, so both sides find the same point). A signature is ``sk * H(m)`` in G1, and signatures
and keys aggregate by addition.

The contract sums the signers' registered G1 keys (0x06) into ``apk1`` and is given the
aggregate G2 key ``apk2``; with ``gamma = keccak(H(m), apk1, apk2, sigma) mod r`` it checks
one pairing product (0x08):

    e(sigma + gamma * apk1, -G2) * e(H(m) + gamma * G1, apk2) == 1

which holds for all gamma only if ``e(sigma, G2) == e(H(m), apk2)`` and
``e(apk1, G2) == e(G1, apk2)``: the signature is valid and ``apk2`` is the G2 twin of the
summed G1 keys. A proof of possession (a signature over the chain id, the committee's
address, the registrant's address and its G1 key) is required at registration, which stops
rogue-key attacks and cannot be replayed on another chain or committee. Keys and signatures
at infinity or off the curve are rejected (:func:`check_g1`, :func:`check_g2`), as the
contract rejects them: a key at infinity would "sign" every message.

Pure functions over py_ecc's optimized_bn128; points cross into Solidity as integer tuples:
G1 ``(x, y)``, G2 ``((x_imag, x_real), (y_imag, y_real))`` in the precompile's order.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from py_ecc import optimized_bn128 as bn

__all__ = ["KeyPair", "G1Point", "G2Point", "hash_to_g1", "sign", "aggregate_g1", "aggregate_g2", "g1_to_sol", "g2_to_sol",
           "pop_message", "verdict_message", "vote_key", "verify", "verify_signature", "FIELD", "ORDER", "InvalidPoint", "check_g1", "check_g2"]  # fmt: skip

FIELD = bn.field_modulus
ORDER = bn.curve_order
G1Point = tuple[int, int]
G2Point = tuple[tuple[int, int], tuple[int, int]]


class InvalidPoint(ValueError):
    """A key or signature that is not a finite point of the right group."""


def check_g1(p: G1Point) -> G1Point:
    """``p`` if it is a finite point of G1 in Solidity form (reduced, not (0, 0), on
    y^2 = x^3 + 3); raises InvalidPoint otherwise."""
    x, y = p
    if not (0 <= x < FIELD and 0 <= y < FIELD) or (x, y) == (0, 0):
        raise InvalidPoint(f"G1 point {p} is the point at infinity or unreduced")
    if (y * y - x * x * x - 3) % FIELD:
        raise InvalidPoint(f"G1 point {p} is not on the curve")
    return p


def check_g2(p: G2Point) -> G2Point:
    """``p`` if it is a finite point of G2 in Solidity form: reduced, not all zero, on the
    twist and in the order-r subgroup; raises InvalidPoint otherwise."""
    coords = [c for pair in p for c in pair]
    if any(not 0 <= c < FIELD for c in coords) or not any(coords):
        raise InvalidPoint(f"G2 point {p} is the point at infinity or unreduced")
    point = bn_point2(p)
    if not bn.is_on_curve(point, bn.b2):
        raise InvalidPoint(f"G2 point {p} is not on the twist")
    if not bn.is_inf(bn.multiply(point, ORDER)):
        raise InvalidPoint(f"G2 point {p} is not in the order-r subgroup")
    return p


def _affine(point: tuple) -> tuple:
    return bn.normalize(point)


def g1_to_sol(point: tuple) -> G1Point:
    if bn.is_inf(point):
        return (0, 0)
    x, y = _affine(point)
    return (int(x), int(y))


def g2_to_sol(point: tuple) -> G2Point:
    x, y = _affine(point)
    return ((int(x.coeffs[1]), int(x.coeffs[0])), (int(y.coeffs[1]), int(y.coeffs[0])))


def bn_point(p: G1Point) -> tuple:
    """A G1 point from its Solidity form."""
    return (bn.FQ(p[0]), bn.FQ(p[1]), bn.FQ.one()) if p != (0, 0) else bn.Z1


def bn_point2(p: G2Point) -> tuple:
    """A G2 point from its Solidity form ((x_imag, x_real), (y_imag, y_real))."""
    (xi, xr), (yi, yr) = p
    return (bn.FQ2([xr, xi]), bn.FQ2([yr, yi]), bn.FQ2.one())


def hash_to_g1(message: bytes) -> tuple:
    """Try-and-increment onto y^2 = x^3 + 3; the contract computes the same point."""
    x = int.from_bytes(keccak(message), "big") % FIELD
    while True:
        rhs = (pow(x, 3, FIELD) + 3) % FIELD
        y = pow(rhs, (FIELD + 1) // 4, FIELD)
        if y * y % FIELD == rhs:
            return (bn.FQ(x), bn.FQ(y), bn.FQ.one())
        x = (x + 1) % FIELD


@dataclass(frozen=True)
class KeyPair:
    secret: int

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(secrets.randbelow(ORDER - 1) + 1)

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """A deterministic key (tests and the demo); never for real referees."""
        return cls(int.from_bytes(keccak(b"meritnet-bls" + seed), "big") % (ORDER - 1) + 1)

    @property
    def pk1(self) -> tuple:
        return bn.multiply(bn.G1, self.secret)

    @property
    def pk2(self) -> tuple:
        return bn.multiply(bn.G2, self.secret)

    def sign(self, message: bytes) -> tuple:
        return sign(self.secret, message)

    def proof_of_possession(self, account: str, chain_id: int, committee: str) -> tuple:
        return self.sign(pop_message(account, g1_to_sol(self.pk1), chain_id, committee))


def sign(secret: int, message: bytes) -> tuple:
    return bn.multiply(hash_to_g1(message), secret)


def aggregate_g1(points: Iterable[tuple]) -> tuple:
    total = bn.Z1
    for p in points:
        total = bn.add(total, p)
    return total


def aggregate_g2(points: Iterable[tuple]) -> tuple:
    total = bn.Z2
    for p in points:
        total = bn.add(total, p)
    return total


def pop_message(account: str, pk1: G1Point, chain_id: int, committee: str) -> bytes:
    """What a referee signs to prove it holds the key it registers: bound to the chain, the
    committee contract and the referee's address."""
    return encode(
        ["string", "uint256", "address", "address", "uint256", "uint256"],
        ["meritnet-referee-pop", chain_id, to_checksum_address(committee), to_checksum_address(account), *pk1],
    )


def vote_key(task_id: int, round_: int, defender: str, challenger: str, step: int, op_index: int, start: bytes, agreed: bytes) -> bytes:
    """The question a referee answers, by content (IDisputeGame.voteKey): keccak256 of
    ``abi.encode(taskId, round, defender, challenger, step, op, start, agreed)``. Never the
    sequential dispute id, which a reorg can give to another dispute."""
    return keccak(encode(["uint256", "uint32", "address", "address", "uint32", "uint32", "bytes32", "bytes32"],
                         [task_id, round_, to_checksum_address(defender), to_checksum_address(challenger), step, op_index, start, agreed]))  # fmt: skip


def verdict_message(chain_id: int, game: str, key: bytes, output_hash: bytes) -> bytes:
    """``abi.encode(chainId, game, voteKey, outputHash)``: what a committee signs (``key`` from :func:`vote_key`)."""
    return encode(["uint256", "address", "bytes32", "bytes32"], [chain_id, to_checksum_address(game), key, output_hash])


def verify(message: bytes, sigma: tuple, apk1: tuple, apk2: tuple) -> bool:
    """The contract's check, off chain (slow: four pairings; tests and diagnostics only)."""
    if bn.is_inf(apk1) or not bn.is_on_curve(apk1, bn.b):
        return False
    return verify_signature(message, sigma, apk2) and bn.pairing(bn.G2, apk1) == bn.pairing(apk2, bn.G1)


def verify_signature(message: bytes, sigma: tuple, pk2: tuple) -> bool:
    """``sigma`` signs ``message`` under the G2 key ``pk2`` (two pairings, about a second in
    pure Python): a referee daemon's check of one stored vote, whose key the committee
    already checked at registration."""
    if bn.is_inf(sigma) or bn.is_inf(pk2):
        return False  # the point at infinity "signs" everything
    if not (bn.is_on_curve(sigma, bn.b) and bn.is_on_curve(pk2, bn.b2)):
        return False
    return bn.pairing(bn.G2, sigma) == bn.pairing(pk2, hash_to_g1(message))


def signer_bitmap(indices: Sequence[int]) -> int:
    bitmap = 0
    for i in indices:
        bitmap |= 1 << i
    return bitmap

"""BLS on BN254 off chain: hashing to G1, aggregation, and the check the contract makes."""

from __future__ import annotations

import pytest
from py_ecc import optimized_bn128 as bn

from tests.helpers import off_subgroup_g2
from verifier.dispute.bls import (
    FIELD,
    InvalidPoint,
    KeyPair,
    aggregate_g1,
    aggregate_g2,
    check_g1,
    check_g2,
    g1_to_sol,
    g2_to_sol,
    hash_to_g1,
    pop_message,
    verdict_message,
    verify,
)

KEYS = [KeyPair.from_seed(bytes([i])) for i in range(3)]


def test_messages_hash_onto_the_curve_deterministically() -> None:
    for message in (b"", b"a", verdict_message(1, "0x" + "11" * 20, b"\x07" * 32, b"\x22" * 32)):
        point = hash_to_g1(message)
        assert bn.is_on_curve(point, bn.b) and bn.normalize(point) == bn.normalize(hash_to_g1(message))
        x, y = g1_to_sol(point)
        assert 0 < x < FIELD and (y * y - x**3 - 3) % FIELD == 0
    assert g1_to_sol(hash_to_g1(b"a")) != g1_to_sol(hash_to_g1(b"b"))


def test_aggregate_signatures_verify_only_for_their_message_and_signers() -> None:
    message = b"verdict"
    sigma = aggregate_g1(k.sign(message) for k in KEYS)
    apk1, apk2 = aggregate_g1(k.pk1 for k in KEYS), aggregate_g2(k.pk2 for k in KEYS)
    assert verify(message, sigma, apk1, apk2)
    assert not verify(b"another verdict", sigma, apk1, apk2)
    assert not verify(message, sigma, aggregate_g1(k.pk1 for k in KEYS[:2]), apk2)  # G2 key not the twin of the G1 sum


COMMITTEE = "0x" + "cc" * 20


def test_proofs_of_possession_are_bound_to_the_account_chain_and_committee() -> None:
    key = KEYS[0]
    pk1 = g1_to_sol(key.pk1)
    a, b = "0x" + "aa" * 20, "0x" + "bb" * 20
    assert pop_message(a, pk1, 1, COMMITTEE) != pop_message(b, pk1, 1, COMMITTEE)
    assert pop_message(a, pk1, 1, COMMITTEE) != pop_message(a, pk1, 2, COMMITTEE)
    assert pop_message(a, pk1, 1, COMMITTEE) != pop_message(a, pk1, 1, b)
    assert verify(pop_message(a, pk1, 1, COMMITTEE), key.proof_of_possession(a, 1, COMMITTEE), key.pk1, key.pk2)
    assert not verify(pop_message(a, pk1, 2, COMMITTEE), key.proof_of_possession(a, 1, COMMITTEE), key.pk1, key.pk2)
    assert len(g2_to_sol(key.pk2)) == 2 and all(len(c) == 2 for c in g2_to_sol(key.pk2))


def test_the_point_at_infinity_verifies_nothing() -> None:
    # With pk = sigma = infinity the pairing equation holds for every message: reject it.
    assert not verify(b"anything", bn.Z1, bn.Z1, bn.Z2)


def test_keys_at_infinity_or_off_the_curve_are_rejected() -> None:
    key = KEYS[0]
    good1, good2 = g1_to_sol(key.pk1), g2_to_sol(key.pk2)
    assert check_g1(good1) == good1 and check_g2(good2) == good2
    (xi, xr), (yi, yr) = good2
    bad_g1 = [(0, 0), (good1[0], (good1[1] + 1) % FIELD), (good1[0] + FIELD, good1[1])]
    bad_g2 = [((0, 0), (0, 0)), ((xi, xr), (yi, (yr + 1) % FIELD)), ((xi + FIELD, xr), (yi, yr)), off_subgroup_g2()]
    for p in bad_g1:
        with pytest.raises(InvalidPoint):
            check_g1(p)
    for q in bad_g2:
        with pytest.raises(InvalidPoint):
            check_g2(q)

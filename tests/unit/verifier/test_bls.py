"""BLS on BN254 off chain: hashing to G1, aggregation, and the check the contract makes."""

from __future__ import annotations

from py_ecc import optimized_bn128 as bn

from verifier.dispute.bls import FIELD, KeyPair, aggregate_g1, aggregate_g2, g1_to_sol, g2_to_sol, hash_to_g1, pop_message, verdict_message, verify

KEYS = [KeyPair.from_seed(bytes([i])) for i in range(3)]


def test_messages_hash_onto_the_curve_deterministically() -> None:
    for message in (b"", b"a", verdict_message(1, "0x" + "11" * 20, 7, 3, b"\x22" * 32)):
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


def test_proofs_of_possession_are_bound_to_the_account() -> None:
    key = KEYS[0]
    pk1 = g1_to_sol(key.pk1)
    assert pop_message("0x" + "aa" * 20, pk1) != pop_message("0x" + "bb" * 20, pk1)
    assert verify(pop_message("0x" + "aa" * 20, pk1), key.proof_of_possession("0x" + "aa" * 20), key.pk1, key.pk2)
    assert len(g2_to_sol(key.pk2)) == 2 and all(len(c) == 2 for c in g2_to_sol(key.pk2))

"""The GPT task from the command line: a planted fault in a gpt-mini run (in the attention softmax's gradient) is located by the
dispute game on chain and the liar loses; the trace reports the stdlib corpus it trained on."""

from __future__ import annotations

import json

from tests.integration.test_cli import meritnet


def test_a_gpt_dispute_locates_the_fault_and_the_liar_loses() -> None:
    result = meritnet("dispute", "simulate", "--model", "gpt-mini", "--steps", "3", "--fault-step", "1", "--fault-op", "86", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["ops_per_step"] == 232
    assert (out["winner"], out["loser"], out["located"]) == ("challenger", "defender", {"step": 1, "op": 86})
    assert out["moves"] == out["expected_moves"] and out["slashed"] > 0
    trace = meritnet("trace", "--model", "gpt-mini", "--steps", "2", "--op-chain", "--step", "2", "--json")
    assert trace.returncode == 0, trace.stderr
    info = json.loads(trace.stdout)
    assert info["optimizer"] == "adam" and len(info["corpus_sha256"]) == 64 and info["ops_per_step"] == 232
    assert {"layer_norm", "causal_softmax", "embed_grad", "clip", "adam_param", "state"} <= {op["name"] for op in info["ops"]}

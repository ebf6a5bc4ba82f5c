"""The demo's adversarial scenario, on the embedded default and on anvil + js-ipfs: cheaters
end with less than every honest trainer, liars lose their disputes, the Sybil cluster stays
within MeritRank's bound, no honest identity is slashed, and the report files hold the numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from node.scenario import CHEATING, ScenarioConfig, run_scenario, write_plots

REPO = Path(__file__).resolve().parents[2]
ALPHA = 0.15  # MeritRank's stop probability, as the epochs use it


def _check(report: dict) -> None:  # type: ignore[type-arg]
    people = {p["name"]: p for p in report["identities"]}
    net = {n: p["balance_change"] + p["stake_after"] - p["stake_before"] for n, p in people.items()}  # tokens + stake
    honest = [p for p in report["identities"] if p["role"] == "trainer" and p["behaviour"] == "honest"]
    honest_min = min(net[p["name"]] for p in honest)
    assert honest_min > 0
    for p in report["identities"]:
        if p["behaviour"] in CHEATING and p["name"] != "sybil-a":
            assert net[p["name"]] < honest_min, (p["name"], net[p["name"]], honest_min)
        if p["behaviour"] == "honest":
            assert p["slashed"] == 0 and p["disputes_lost"] == 0, p["name"]
    assert people["lazy"]["rewards"] == 0
    assert people["label-flip"]["rewards"] == 0 and people["label-flip"]["slashed"] > 0
    assert people["copycat"]["slashed"] > 0 and people["copycat"]["disputes_lost"] >= 1
    accuser = people["false-accuser"]
    assert accuser["disputes_lost"] >= 1 and accuser["balance_change"] < 0
    cluster = [people[n] for n in ("sybil-a", "sybil-b", "sybil-c")]
    # sybil-a does real work; its two copies are caught and slashed, so three identities earn
    # less than one honest worker (sybil-a alone may out-earn the weakest honest trainer).
    assert sum(net[p["name"]] for p in cluster) < max(net[p["name"]] for p in honest)
    assert sum(p["reputation"] for p in cluster) <= people["sybil-a"]["reputation"] / ALPHA + 0.01
    assert all(d["stage"] == "resolved" for d in report["disputes"])
    assert report["rounds"][-1]["accuracy"] > report["rounds"][0]["accuracy_before"]


@pytest.mark.slow
def test_adversarial_scenario_on_the_embedded_default(tmp_path: Path) -> None:
    report = run_scenario(ScenarioConfig(scenario="adversarial"), tmp_path)
    _check(report)
    plots = write_plots(report, tmp_path / "plots")
    assert [p.name for p in plots] == ["accuracy.png", "loss.png", "rewards.png", "reputation.png", "trust_graph.png"]
    assert all(p.stat().st_size > 5_000 for p in plots)


@pytest.mark.slow
@pytest.mark.devnet
@pytest.mark.ipfs
def test_adversarial_demo_command_on_anvil_and_js_ipfs(tmp_path: Path, anvil_url: str, ipfs_api: str) -> None:
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "node.cli.app", "demo", "--rpc", anvil_url, "--ipfs", ipfs_api, "--out", str(out), "--json"],
                            capture_output=True, text=True, cwd=REPO, timeout=1200)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    _check(report)
    assert json.loads((out / "report.json").read_text())["identities"] == report["identities"]
    assert {Path(p).name for p in report["plots"]} == {"accuracy.png", "loss.png", "rewards.png", "reputation.png", "trust_graph.png"}
    assert not (out / "store").exists()  # everything went through the IPFS node

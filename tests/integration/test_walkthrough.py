"""The README's "Your own devnet" walk-through, run exactly as written.

The bash block is read from README.md and run in a fresh folder as one shell session: anvil
and js-ipfs from `meritnet devnet start`, every role its own process. Nothing is done by hand
in between; afterwards the devnet is started again from its saved state and checked: both
trainers were paid, and reputation epoch 1 is posted and its scores prove on chain.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from node.chain import devnet
from node.chain.deploy import load_deployment
from node.chain.provider import connect
from node.chain.reputation import recompute_epoch
from node.services import free_port
from node.storage import ipfs_daemon

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.devnet, pytest.mark.ipfs, pytest.mark.slow]


def walkthrough_block(readme: str) -> str:
    """The first bash block after the "Your own devnet" heading."""
    section = readme[readme.index("### Your own devnet") :]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no bash block in the walk-through"
    return match.group(1)


def readme_script(readme: str) -> str:
    """The python block of "From a script"."""
    section = readme[readme.index("#### From a script") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_walkthrough_block_is_found_and_uses_every_role() -> None:
    block = walkthrough_block((ROOT / "README.md").read_text())
    for command in ("devnet start", "deploy", "task create", "aggregator run", "trainer run", "verifier run", "referee keygen",
                    "referee run", "rewards", "post-epoch", "reputation --epoch 1", "scripts/query_rewards.py", "devnet stop"):  # fmt: skip
        assert command in block, command
    assert "cast " not in block and "evm_mine" not in block


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    block = walkthrough_block((ROOT / "README.md").read_text())
    for name in (".venv", "scripts"):
        (tmp_path / name).symlink_to(ROOT / name)
    port, ipfs_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERITNET_")}
    env |= {"PORT": str(port), "IPFS_PORT": str(ipfs_port), "COLUMNS": "160", "PYTHONWARNINGS": "default"}
    home = tmp_path / ".meritnet"
    shell = subprocess.Popen(["bash", "-e", "-c", block], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = shell.communicate(timeout=900)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)  # role processes left behind by a failed run
        shell.wait()
        devnet.stop(home)
        ipfs_daemon.stop_ipfs(home)
    run = subprocess.CompletedProcess(shell.args, shell.returncode, stdout, stderr)
    logs = {p.name: p.read_text() for p in tmp_path.glob("*.log")}
    assert run.returncode == 0, (
        f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}\n{json.dumps({k: v[-1500:] for k, v in logs.items()}, indent=1)}"
    )
    assert "FutureWarning" not in run.stderr and "Traceback" not in run.stderr
    assert "epoch" in run.stdout and "True" in run.stdout  # post-epoch, then every score proven on chain
    # the devnet comes back from its saved state: check what the walk-through left on chain
    url = devnet.start(home, port).url
    ipfs_daemon.start_ipfs(home, ipfs_port)
    try:
        w3 = connect(url)
        net = load_deployment(w3, tmp_path / "deployments")
        owner, _agg, t1, t2 = w3.eth.accounts[:4]
        assert net.tasks.is_complete(1) and net.tasks.is_finalized(1, 1)
        for trainer in (t1, t2):
            assert net.vault.has_claimed(1, 1, trainer)
        allocated = net.vault.round_rewards(1, 1)
        assert allocated.claimed > 0
        epoch = net.reputation.get_epoch(1)
        assert epoch.posted and epoch.ego == owner
        result = recompute_epoch(net, 1)
        assert result.root == epoch.root
        for account in (t1, t2):
            assert result.scores[account] > 0
            assert net.reputation.verify_score(1, account, result.fixed[account], result.proof(account))
        # the README's script, with the walk-through's settings
        script_env = env | {"MERITNET_RPC": url, "MERITNET_STORE": f"/ip4/127.0.0.1/tcp/{ipfs_port}"}
        readme = (ROOT / "README.md").read_text()
        printed = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", readme_script(readme), t1, "1"], check=False, cwd=tmp_path, env=script_env,
                                 capture_output=True, text=True, timeout=300)  # fmt: skip
        assert printed.returncode == 0, printed.stderr
        assert re.search(r"round 1: [0-9.,]+ MERIT, claimed: True", printed.stdout), printed.stdout
        assert f"reputation: {result.scores[t1]}" in printed.stdout and "MERIT held:" in printed.stdout
        assert printed.stderr == ""
    finally:
        devnet.stop(home)
        ipfs_daemon.stop_ipfs(home)
    script = json.loads(run.stdout[run.stdout.index('{\n  "address"') :].split("\n}\n", 1)[0] + "\n}")
    assert script["rounds"] and script["rounds"][0]["claimed"] is True

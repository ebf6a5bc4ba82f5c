#!/usr/bin/env python3
"""Run one trainer with the library (what `meritnet trainer run` does), printing JSON events.

    python scripts/run_trainer.py --rpc http://127.0.0.1:8545 --store /ip4/127.0.0.1/tcp/5001 \\
        --task 1 [--account 0xUNLOCKED | MERITNET_PRIVATE_KEY=0x...] [--journal DIR] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.client import connect_network
from node.errors import MeritnetError
from node.roles.trainer import Trainer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default=None, help="JSON-RPC URL (default: MERITNET_RPC, else http://127.0.0.1:8545)")
    parser.add_argument("--store", default=None, help="embedded, embedded:PATH or an IPFS API multiaddr")
    parser.add_argument("--deployments", type=Path, default=None)
    parser.add_argument("--task", type=int, required=True)
    parser.add_argument("--account", help="an unlocked account of the node (devnets)")
    parser.add_argument("--journal", type=Path, default=Path(".meritnet/trainer"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args()
    try:
        network = connect_network(args.rpc, args.deployments, args.store)
        node = Trainer(network.net, network.store, network.sender(args.account), args.task, journal_dir=args.journal, device=args.device, on_event=lambda e: print(json.dumps(e), flush=True))
        node.run(timeout=args.timeout)
    except MeritnetError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

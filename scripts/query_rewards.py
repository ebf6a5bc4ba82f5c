#!/usr/bin/env python3
"""Print a trainer's rewards per round as JSON: allocation, claimed, and what it can still claim.

The round's scores table is fetched from the content store (its CID is on chain), checked
against the on-chain root, and the trainer's proof is included.

    python scripts/query_rewards.py --rpc http://127.0.0.1:8545 --store /ip4/127.0.0.1/tcp/5001 --task 1 0xTRAINER
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.client import connect_network
from node.errors import MeritnetError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default=None, help="JSON-RPC URL (default: MERITNET_RPC, else http://127.0.0.1:8545)")
    parser.add_argument("--store", default=None, help="the store the aggregator published to (default: MERITNET_STORE, else embedded)")
    parser.add_argument("--deployments", type=Path, default=None)
    parser.add_argument("--task", type=int, required=True)
    parser.add_argument("address")
    args = parser.parse_args()
    try:
        rounds = connect_network(args.rpc, args.deployments, args.store).rewards(args.address, args.task)
    except MeritnetError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    print(json.dumps({"address": args.address, "task": args.task, "rounds": rounds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

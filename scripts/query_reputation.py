#!/usr/bin/env python3
"""Print MeritRank reputation as JSON, from a posted epoch (root checked) or computed now.

    python scripts/query_reputation.py --rpc http://127.0.0.1:8545 --epoch 1 [ADDRESS]
    python scripts/query_reputation.py --rpc http://127.0.0.1:8545 --ego 0xOWNER [ADDRESS]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.chain.reputation import edge_records, recompute_epoch
from node.client import connect_network
from node.errors import MeritnetError
from verifier.reputation.epoch import compute_epoch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default=None, help="JSON-RPC URL (default: MERITNET_RPC, else http://127.0.0.1:8545)")
    parser.add_argument("--deployments", type=Path, default=None)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--epoch", type=int)
    group.add_argument("--ego")
    parser.add_argument("--walks", type=int, default=10_000)
    parser.add_argument("address", nargs="?")
    args = parser.parse_args()
    try:
        net = connect_network(args.rpc, args.deployments).net
        if args.epoch is not None:
            result = recompute_epoch(net, args.epoch, walks=args.walks)
        else:
            block = net.w3.eth.block_number
            result = compute_epoch(edge_records(net, block), ego=args.ego, seed=b"\x00" * 32, snapshot_block=block, walks=args.walks)
    except MeritnetError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    scores = result.scores if args.address is None else {args.address: result.scores.get(net.w3.to_checksum_address(args.address), 0.0)}
    print(json.dumps({"ego": result.ego, "root": "0x" + result.root.hex(), "scores": scores}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Query meritnet's state with the library and print JSON (what `meritnet query` does).

    python scripts/query.py --rpc http://127.0.0.1:8545 account 0xADDRESS
    python scripts/query.py --rpc http://127.0.0.1:8545 task 1
    python scripts/query.py --rpc http://127.0.0.1:8545 round 1 [ROUND]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.chain import queries
from node.client import connect_network
from node.errors import MeritnetError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default=None, help="JSON-RPC URL (default: MERITNET_RPC, else http://127.0.0.1:8545)")
    parser.add_argument("--deployments", type=Path, default=None)
    parser.add_argument("what", choices=["deployment", "account", "task", "round"])
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args()
    try:
        net = connect_network(ns.rpc, ns.deployments).net
        if ns.what == "deployment":
            result = queries.deployment_info(net)
        elif ns.what == "account":
            result = queries.account_info(net, ns.args[0])
        elif ns.what == "task":
            result = queries.task_info(net, int(ns.args[0]))
        else:
            result = queries.round_info(net, int(ns.args[0]), int(ns.args[1]) if len(ns.args) > 1 else None)
    except MeritnetError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    except (IndexError, ValueError):
        parser.error(f"{ns.what} needs its arguments (see --help)")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

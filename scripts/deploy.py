#!/usr/bin/env python3
"""Deploy meritnet's contracts with the library (what `meritnet deploy` does).

    python scripts/deploy.py --rpc http://127.0.0.1:8545 [--deployments deployments] [--force]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.chain import connect, ensure_deployed
from node.chain.queries import deployment_info
from node.errors import MeritnetError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", default="http://127.0.0.1:8545")
    parser.add_argument("--deployments", type=Path, default=Path("deployments"))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    try:
        w3 = connect(args.rpc)
        net, created = ensure_deployed(w3, w3.eth.accounts[0], args.deployments, force=args.force)
    except MeritnetError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    print(json.dumps(deployment_info(net) | {"created": created}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

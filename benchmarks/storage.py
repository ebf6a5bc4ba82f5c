"""storage: put+get of a 25 MB delta through each ContentStore, against a plain local file.

Prints one JSON object per backend (median of several repetitions; ratio = store time / file
time measured in the same run) and one for the delta codec's size against raw float32.

    python -m benchmarks.storage [--mb 25] [--reps 5] [--ipfs]   # --ipfs starts a js-ipfs daemon
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from benchmarks.timing import median_time
from node.storage import ContentStore, EmbeddedStore
from node.training.codec import encode_tensors


def _delta(mb: int) -> dict[str, torch.Tensor]:
    n = mb * 1024 * 1024 // 4
    gen = torch.Generator().manual_seed(0)
    return {"layer0.weight": torch.randn(n // 2, generator=gen), "layer1.weight": torch.randn(n - n // 2, generator=gen)}


def run(mb: int, reps: int, with_ipfs: bool) -> list[dict[str, object]]:
    delta = _delta(mb)
    blob = encode_tensors(delta)
    raw = sum(t.numel() * 4 for t in delta.values())
    results: list[dict[str, object]] = [{"benchmark": "storage-codec", "raw_float32_bytes": raw, "encoded_bytes": len(blob), "overhead_ratio": round(len(blob) / raw, 6)}]
    work = Path(tempfile.mkdtemp(prefix="meritnet-bench-"))
    target = work / "delta.bin"

    def file_round_trip() -> None:
        target.write_bytes(blob)
        assert target.read_bytes() == blob

    baseline = median_time(file_round_trip, reps)
    stores: list[tuple[str, ContentStore]] = [("embedded", EmbeddedStore(work / "store"))]
    home = None
    if with_ipfs:
        from node.storage import ipfs_daemon
        from node.services import free_port
        from node.storage.ipfs_http import IpfsHttpStore

        home, port = work / "ipfs-home", free_port()
        ipfs_daemon.start_ipfs(home, port)
        stores.append(("ipfs-http (js-ipfs)", IpfsHttpStore(ipfs_daemon.api_multiaddr(port), timeout=120)))
    try:
        for name, store in stores:

            def round_trip(store: ContentStore = store) -> None:
                assert store.get(store.put(blob)) == blob

            seconds = median_time(round_trip, reps)
            results.append({"benchmark": "storage", "backend": name, "mb": mb, "reps": reps, "put_get_s": round(seconds, 4),
                            "file_write_read_s": round(baseline, 4), "ratio_vs_file": round(seconds / baseline, 2)})  # fmt: skip
    finally:
        if home is not None:
            ipfs_daemon.stop_ipfs(home)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=25)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--ipfs", action="store_true", help="also measure a js-ipfs daemon (started and stopped here)")
    args = parser.parse_args(argv)
    for result in run(args.mb, args.reps, args.ipfs):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

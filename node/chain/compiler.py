"""Compile meritnet's Solidity sources with py-solc-x, cached by content.

The compiler is a native ``solc`` 0.8.x when one is on PATH (or named by ``MERITNET_SOLC``),
else the project's ``solcjs`` front end over the npm ``solc`` package (see TOOLCHAIN notes in
the README). Imports are resolved here, in Python, and every source goes into the
standard-JSON input with its content, so native solc and solcjs see exactly the same input.
Artifacts are cached under ``$MERITNET_CACHE_DIR`` (default ``~/.cache/meritnet``) keyed by a
hash of the sources, the compiler version and the settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx

from node.errors import CompilerError
from node.paths import cache_dir, project_root

__all__ = ["Artifact", "compile_contracts", "find_solc", "SETTINGS"]

logger = logging.getLogger(__name__)

SETTINGS: dict[str, Any] = {
    "evmVersion": "prague",
    "viaIR": True,
    "optimizer": {"enabled": True, "runs": 200},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}
_IMPORT = re.compile(r"""^\s*import\s+(?:[^;]*?\bfrom\s+)?["']([^"']+)["']""", re.MULTILINE)


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str

    @property
    def abi_hash(self) -> str:
        """sha256 of the canonical ABI JSON: identifies the interface in deployment records."""
        return hashlib.sha256(json.dumps(self.abi, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def find_solc() -> Path:
    """The compiler to use: ``$MERITNET_SOLC``, a native solc 0.8 on PATH, else solcjs."""
    named = os.environ.get("MERITNET_SOLC")
    if named:
        path = Path(named)
        if not path.exists():
            raise CompilerError(f"MERITNET_SOLC={named} does not exist", hint="unset it or point it at a solc binary")
        return path
    native = shutil.which("solc")
    if native and _version_of(Path(native)).startswith("0.8."):
        return Path(native)
    wrapper = Path(__file__).with_name("solcjs")
    if not (project_root() / "node_modules" / "solc").is_dir():
        raise CompilerError("no Solidity compiler found", hint="run `npm ci` in the repository (installs solcjs)")
    return wrapper


def compile_contracts(*, root: Path | None = None, use_cache: bool = True) -> dict[str, Artifact]:
    """Compile every ``.sol`` file under ``contracts/``; return artifacts by contract name."""
    root = root or project_root()
    sources = _collect_sources(root)
    solc = find_solc()
    version = _version_of(solc)
    key = hashlib.sha256(
        json.dumps({"sources": sources, "version": version, "settings": SETTINGS}, sort_keys=True).encode()
    ).hexdigest()[:32]
    cache_file = cache_dir() / "solc" / f"{key}.json"
    if use_cache and cache_file.exists():
        logger.debug("using cached artifacts %s", cache_file)
        return _load(json.loads(cache_file.read_text()))
    logger.info("compiling %d sources with solc %s", len(sources), version)
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": SETTINGS,
    }
    try:
        output = solcx.compile_standard(standard_input, solc_binary=solc, allow_empty=False)
    except solcx.exceptions.SolcError as exc:
        raise CompilerError(f"Solidity compilation failed: {exc.message}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise CompilerError(f"could not run the Solidity compiler {solc}: {exc}", hint="run `npm ci`") from exc
    flat = {
        name: {
            "source": source,
            "abi": out["abi"],
            "bytecode": out["evm"]["bytecode"]["object"],
            "deployed_bytecode": out["evm"]["deployedBytecode"]["object"],
        }
        for source, contracts in output["contracts"].items()
        for name, out in contracts.items()
    }
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(flat))
    tmp.replace(cache_file)
    return _load(flat)


def _load(flat: dict[str, dict[str, Any]]) -> dict[str, Artifact]:
    return {name: Artifact(name=name, **fields) for name, fields in flat.items()}


def _version_of(solc: Path) -> str:
    try:
        out = subprocess.run([str(solc), "--version"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompilerError(f"could not run {solc} --version: {exc}", hint="run `npm ci`") from exc
    match = re.search(r"Version:\s*([0-9][^\s]*)", out)
    if not match:
        raise CompilerError(f"{solc} --version printed no version")
    return match.group(1)


def _collect_sources(root: Path) -> dict[str, str]:
    """Every contract source under contracts/ plus the closure of its imports."""
    sources: dict[str, str] = {}
    pending = [f"contracts/{p.relative_to(root / 'contracts').as_posix()}" for p in (root / "contracts").rglob("*.sol")]
    if not pending:
        raise CompilerError(f"no Solidity sources under {root / 'contracts'}")
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        text = _read_unit(root, unit)
        sources[unit] = text
        for imported in _IMPORT.findall(text):
            pending.append(_resolve(unit, imported))
    return sources


def _resolve(importer: str, imported: str) -> str:
    if not imported.startswith("."):
        return imported
    parts = importer.split("/")[:-1]
    for piece in imported.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _read_unit(root: Path, unit: str) -> str:
    for candidate in (root / unit, root / "node_modules" / unit):
        if candidate.is_file():
            return candidate.read_text()
    raise CompilerError(f"cannot resolve Solidity import {unit!r}", hint="run `npm ci` to install @openzeppelin/contracts")

"""Compilation: cached by content, clear errors when the compiler or an import is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from node.chain import compiler
from node.errors import CompilerError


def _mini_project(tmp_path: Path, repo_root: Path, source: str) -> Path:
    (tmp_path / "contracts").mkdir(parents=True)
    (tmp_path / "contracts" / "A.sol").write_text(source)
    (tmp_path / "node_modules").symlink_to(repo_root / "node_modules")
    return tmp_path


def test_second_compile_comes_from_the_cache(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERITNET_CACHE_DIR", str(tmp_path / "cache"))
    root = _mini_project(tmp_path / "p", repo_root, "pragma solidity ^0.8.0; contract A { uint public x = 1; }")
    first = compiler.compile_contracts(root=root)
    assert "A" in first and first["A"].bytecode

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(compiler.solcx, "compile_standard", boom)
    assert compiler.compile_contracts(root=root)["A"] == first["A"]
    (root / "contracts" / "A.sol").write_text("pragma solidity ^0.8.0; contract A { uint public x = 2; }")
    with pytest.raises(AssertionError, match="compiled again"):
        compiler.compile_contracts(root=root)


def test_syntax_error_is_a_compiler_error(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERITNET_CACHE_DIR", str(tmp_path / "cache"))
    root = _mini_project(tmp_path / "p", repo_root, "pragma solidity ^0.8.0; contract A { uint x = ; }")
    with pytest.raises(CompilerError, match="compilation failed"):
        compiler.compile_contracts(root=root)


def test_missing_import_names_the_file(tmp_path: Path, repo_root: Path) -> None:
    root = _mini_project(tmp_path / "p", repo_root, 'import "./Missing.sol"; contract A {}')
    with pytest.raises(CompilerError, match="contracts/Missing.sol"):
        compiler.compile_contracts(root=root)


def test_named_compiler_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MERITNET_SOLC", str(tmp_path / "nope"))
    with pytest.raises(CompilerError, match="does not exist"):
        compiler.find_solc()


def test_solcjs_is_used_without_a_native_solc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MERITNET_SOLC", raising=False)
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert compiler.find_solc().name == "solcjs"


def test_every_core_contract_compiles_for_prague(artifacts: dict[str, compiler.Artifact]) -> None:
    assert compiler.SETTINGS["evmVersion"] == "prague"
    for name in ("MeritToken", "Registry", "TaskManager", "RewardVault"):
        assert artifacts[name].bytecode and artifacts[name].abi

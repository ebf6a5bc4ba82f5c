"""The C kernels and the torch kernels are two implementations of one specification: they must
agree bit for bit, on ordinary values and on the awkward ones (signed zeros, subnormals,
infinities, NaN, odd and large reduction lengths)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import torch

from node.training.trace import run_trace
from verifier.repops import kernels, native

GEN = torch.Generator().manual_seed(7)
SPECIAL = torch.tensor([float("nan"), -0.0, 0.0, 1e-40, -1e-40, float("inf"), -float("inf"), 2.0, -3.0, 1e-30, 88.5, -104.5])


def rand(*shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=GEN) * scale


def targets(n: int, classes: int) -> torch.Tensor:
    return torch.randint(0, classes, (n,), generator=GEN)


CASES: dict[str, Callable[[], torch.Tensor]] = {
    "matmul": lambda: kernels.matmul(rand(7, 13), rand(13, 5)),
    "matmul_trans_b": lambda: kernels.matmul(rand(32, 64), rand(64, 64), trans_b=True),
    "matmul_trans_a": lambda: kernels.matmul(rand(33, 10), rand(33, 64), trans_a=True),
    "matmul_k72_padded_tree": lambda: kernels.matmul(rand(21, 72), rand(72, 45)),
    "matmul_k1": lambda: kernels.matmul(rand(3, 1), rand(1, 41)),
    "matmul_k2048": lambda: kernels.matmul(rand(16, 2048), rand(2048, 72)),
    "matmul_signed_zeros": lambda: kernels.matmul(-torch.zeros(5, 3), torch.ones(3, 9)),
    "matmul_special": lambda: kernels.matmul(SPECIAL.reshape(3, 4), rand(4, 6)),
    "matmul_wide_range": lambda: kernels.matmul(rand(9, 40) * torch.logspace(-30, 30, 40), rand(40, 11)),
    "tree_sum_rows": lambda: kernels.tree_sum(rand(31, 10), 0),
    "tree_sum_columns": lambda: kernels.tree_sum(rand(31, 10), 1),
    "tree_sum_3d": lambda: kernels.tree_sum(rand(3, 5, 4), 0),
    "tree_sum_1d": lambda: kernels.tree_sum(rand(9), 0),
    "tree_sum_signed_zeros": lambda: kernels.tree_sum(-torch.zeros(4, 3), 0),
    "exp": lambda: kernels.exp(torch.cat([torch.linspace(-120, 100, 4001), SPECIAL])),
    "log": lambda: kernels.log(torch.cat([torch.logspace(-44, 38, 4001), SPECIAL.abs()])),
    "log_softmax": lambda: kernels.log_softmax(rand(33, 10, scale=20)),
    "cross_entropy_sum": lambda: kernels.cross_entropy_sum(rand(33, 10, scale=5), targets(33, 10), 1 / 33),
    "cross_entropy_grad": lambda: kernels.cross_entropy_grad(rand(33, 10, scale=5), targets(33, 10), 1 / 33),
    "sgd_buffer": lambda: kernels.sgd_buffer(rand(64, 64), rand(64, 64), 0.9),
    "sgd_param": lambda: kernels.sgd_param(rand(64, 64), rand(64, 64), 0.1),
    "relu": lambda: kernels.relu(torch.cat([rand(50), SPECIAL])),
    "relu_grad": lambda: kernels.relu_grad(rand(62), torch.cat([rand(50), SPECIAL])),
}


def test_the_c_kernels_build_on_this_machine() -> None:
    assert native.library() is not None, native.build_error()


@pytest.mark.parametrize("name", sorted(CASES))
def test_c_and_torch_kernels_agree_bit_for_bit(name: str) -> None:
    state = GEN.get_state()
    fast = CASES[name]()
    GEN.set_state(state)
    with native.disabled():
        reference = CASES[name]()
    assert fast.shape == reference.shape
    assert torch.equal(fast.view(torch.int32), reference.view(torch.int32)), name


def test_in_place_sgd_equals_the_recorded_form() -> None:
    buf, grad, param = rand(10, 7), rand(10, 7), rand(10, 7)
    expected_buf = kernels.sgd_buffer(buf, grad, 0.9)
    expected_param = kernels.sgd_param(param, expected_buf, 0.05)
    kernels.sgd_buffer(buf, grad, 0.9, out=buf)
    kernels.sgd_param(param, buf, 0.05, out=param)
    assert torch.equal(buf, expected_buf) and torch.equal(param, expected_param)


@pytest.mark.parametrize(("model", "steps"), [("mlp", 30), ("cnn", 3)])
def test_training_gives_the_same_state_hashes_with_either_implementation(model: str, steps: int) -> None:
    fast = run_trace(steps=steps, model=model)
    with native.disabled():
        reference = run_trace(steps=steps, model=model)
    assert fast["state_hashes"] == reference["state_hashes"] and fast["trace_root"] == reference["trace_root"]


def test_a_process_without_the_c_kernels_reproduces_the_trace() -> None:
    cmd = [sys.executable, "-m", "node.cli.app", "trace", "--steps", "20", "--json"]
    env = {**os.environ, "MERITNET_REPOPS_NATIVE": "0"}
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout)
    assert out["state_hashes"] == run_trace(steps=20)["state_hashes"]


def test_a_threaded_c_matmul_gives_the_bits_of_one_thread() -> None:
    if native.library() is None:
        pytest.skip(f"no C kernels: {native.build_error()}")
    a, b = rand(203, 300), rand(300, 77)  # 4.7 M products: split among threads; 203 rows: a partial tile at the end
    before = torch.get_num_threads()
    try:
        outs = []
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            outs.append(kernels.matmul(a, b, trans_b=False))
    finally:
        torch.set_num_threads(before)
    with native.disabled():
        reference = kernels.matmul(a, b)
    assert all(torch.equal(o.view(torch.int32), reference.view(torch.int32)) for o in outs)

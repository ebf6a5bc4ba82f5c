"""RepOps: correct operators, bitwise-reproducible steps, and a replayable operator tape."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from node.training.data import load_digits, split_shards
from node.training.loop import TrainConfig, evaluate, train
from node.training.models import get_model
from node.training.ops import StockOps
from node.training.trace import run_trace
from verifier.repops import kernels
from verifier.repops.canonical import tensor_hash
from verifier.repops.ops import RepOps
from verifier.repops.tape import export_inputs, import_inputs, prefix_chain, replay, replay_hash

GEN = torch.Generator().manual_seed(0)


def rand(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=GEN)


def test_kernels_agree_with_torch() -> None:
    a, b = rand(7, 13), rand(13, 5)
    assert torch.allclose(kernels.matmul(a, b), a @ b, atol=1e-5)
    x = torch.linspace(-80, 80, 2001)
    assert torch.allclose(kernels.exp(x), torch.exp(x), rtol=2e-7, atol=0)
    pos = torch.logspace(-30, 30, 2001)
    assert torch.allclose(kernels.log(pos), torch.log(pos), rtol=2e-7, atol=1e-7)
    logits = rand(9, 10) * 5
    assert torch.allclose(kernels.log_softmax(logits), F.log_softmax(logits, dim=1), atol=1e-6)
    assert float(kernels.exp(torch.tensor([-100.0]))) == 0.0  # would be subnormal: flushed
    assert torch.equal(kernels.tree_sum(torch.arange(7.0), 0), torch.tensor(21.0))


def _grads(ops: object, model: str, x: torch.Tensor, y: torch.Tensor, params: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    loss = ops.cross_entropy(get_model(model).forward(leaves, x, ops), y)  # type: ignore[attr-defined]
    return list(torch.autograd.grad(loss, list(leaves.values())))


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_forward_and_backward_match_stock_torch(model: str) -> None:
    data = load_digits()
    x, y = data.x[:32], data.y[:32]
    params = get_model(model).init(3)
    stock = _grads(StockOps(), model, x, y, params)
    repops = _grads(RepOps(), model, x, y, params)
    for s, r in zip(stock, repops, strict=True):
        assert torch.allclose(s, r, rtol=1e-4, atol=1e-6)


def test_the_gpt_forward_and_backward_match_stock_torch() -> None:
    from node.training.data import dataset_for

    data = dataset_for("gpt-mini")
    x, y = data.x[:8], data.y[:8].reshape(-1)
    params = get_model("gpt-mini").init(3, 16, 128)
    stock = _grads(StockOps(), "gpt-mini", x, y, params)
    repops = _grads(RepOps(), "gpt-mini", x, y, params)
    for s, r in zip(stock, repops, strict=True):
        assert torch.allclose(s, r, rtol=1e-3, atol=1e-6)


def test_col2im_is_the_adjoint_of_im2col() -> None:
    x = rand(2, 3, 6, 6)
    cols = kernels.im2col(x, 3, 1)
    g = rand(*cols.shape)
    back = kernels.col2im(g, tuple(x.shape), 3, 1)  # type: ignore[arg-type]
    # <im2col(x), g> == <x, col2im(g)>
    assert torch.allclose((cols * g).sum(), (x * back).sum(), rtol=1e-5)


SHARDS, VALIDATION = split_shards(load_digits(), 3)


def test_repops_training_learns_like_stock() -> None:
    base = get_model("mlp").init(0)
    accs = [evaluate("mlp", train(base, SHARDS[0], TrainConfig(steps=40, backend=b), seed=b"s").params, VALIDATION)[1] for b in ("stock", "repops")]
    assert accs[1] > 0.7 and abs(accs[0] - accs[1]) < 0.03


def test_adam_training_is_reproducible_and_learns_like_torch_adam() -> None:
    base = get_model("mlp").init(0)
    cfgs = {b: TrainConfig(steps=40, lr=0.01, optimizer="adam", backend=b) for b in ("stock", "repops")}
    accs = {b: evaluate("mlp", train(base, SHARDS[0], c, seed=b"a").params, VALIDATION)[1] for b, c in cfgs.items()}
    assert accs["repops"] > 0.7 and abs(accs["stock"] - accs["repops"]) < 0.03
    run = lambda **kw: run_trace(steps=30, optimizer="adam", lr=0.01, **kw)["state_hashes"]  # noqa: E731
    whole = run(threads=2)
    assert run(threads=1) == whole and run(threads=2, microbatch=8) == whole
    assert run(threads=2, backend="stock", microbatch=8) != whole  # stock Adam: other bits
    torch.set_num_threads(2)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_state_hashes_identical_across_threads_and_microbatching(model: str) -> None:
    steps = 100 if model == "mlp" else 15
    base = run_trace(steps=steps, model=model, threads=2)
    assert run_trace(steps=steps, model=model, threads=1)["state_hashes"] == base["state_hashes"]
    for mb in (8, 16):
        assert run_trace(steps=steps, model=model, threads=2, microbatch=mb)["state_hashes"] == base["state_hashes"]
    torch.set_num_threads(2)


def test_state_hashes_identical_in_separate_processes() -> None:
    cmd = [sys.executable, "-m", "node.cli.app", "trace", "--steps", "100", "--json"]
    outs = [json.loads(subprocess.run([*cmd, *extra], capture_output=True, text=True, check=True).stdout) for extra in (["--threads", "1"], ["--threads", "2", "--microbatch", "4"])]
    assert outs[0]["state_hashes"] == outs[1]["state_hashes"] and len(outs[0]["state_hashes"]) == 101
    assert outs[0]["trace_root"] == run_trace(steps=100)["trace_root"]


def test_stock_torch_is_the_negative_control() -> None:
    """Plain torch sums micro-batch gradients in another order than whole-batch kernels do."""
    full = run_trace(steps=100, backend="stock")["state_hashes"]
    split = run_trace(steps=100, backend="stock", microbatch=8)["state_hashes"]
    assert full[0] == split[0] and full != split


def test_every_operator_replays_alone_to_its_recorded_hash() -> None:
    ops = RepOps()
    base = get_model("cnn").init(1)
    tape_box = {}

    def on_step(step: int, when: str) -> None:
        if step == 2 and when == "start":
            tape_box["tape"] = ops.start_tape()
        elif step == 2:
            ops.stop_tape()

    result = train(base, SHARDS[1], TrainConfig(model="cnn", steps=2, backend="repops"), seed=b"t", ops=ops, on_step=on_step)
    tape = tape_box["tape"]
    assert len(tape.entries) >= 20
    assert tape.entries[-1].name == "state" and tape.entries[-1].output_hash == result.state_hashes[2]
    for entry in tape.entries:
        assert replay_hash(entry.name, import_inputs(entry, entry.inputs), entry.attrs) == entry.output_hash, entry.name
        assert export_inputs(entry)  # canonical bytes for a referee
    chain = tape.chain(result.state_hashes[1])
    assert chain == prefix_chain(result.state_hashes[1], [e.output_hash for e in tape.entries])


def test_a_flipped_bit_changes_the_output_and_the_chain_from_there_on() -> None:
    ops = RepOps()
    tape = ops.start_tape()
    base = get_model("mlp").init(0)
    result = train(base, SHARDS[0], TrainConfig(steps=1, backend="repops"), seed=b"f", ops=ops)
    ops.stop_tape()
    j = next(i for i, e in enumerate(tape.entries) if e.name == "matmul")
    entry = tape.entries[j]
    tampered = entry.inputs[0].clone()
    flat = tampered.view(-1)
    target = int(flat.abs().argmax())
    flat.view(torch.int32)[target] ^= 1 << 12  # one mantissa bit of one float
    with pytest.raises(ValueError, match="does not match its agreed hash"):
        import_inputs(entry, [tampered, *entry.inputs[1:]])
    bad_out = replay(entry.name, [tampered, *entry.inputs[1:]], entry.attrs)
    assert tensor_hash(bad_out) != entry.output_hash
    hashes = [e.output_hash for e in tape.entries]
    honest = prefix_chain(result.state_hashes[0], hashes)
    forged = prefix_chain(result.state_hashes[0], hashes[:j] + [tensor_hash(bad_out)] + hashes[j + 1 :])
    assert honest[: j + 1] == forged[: j + 1]
    assert all(a != b for a, b in zip(honest[j + 1 :], forged[j + 1 :], strict=True))


def test_gelu_forward_and_backward_match_torch_and_reproduce_across_threads() -> None:
    x = torch.linspace(-12, 12, 4001).reshape(1, -1)
    leaf = x.clone().requires_grad_(True)
    out = RepOps().gelu(leaf)
    out.sum().backward()
    ref = x.clone().requires_grad_(True)
    F.gelu(ref, approximate="tanh").sum().backward()
    assert torch.allclose(out.detach(), F.gelu(x, approximate="tanh"), atol=1e-6)
    assert torch.allclose(leaf.grad, ref.grad, atol=1e-5)
    torch.set_num_threads(1)
    single = kernels.gelu(x)
    torch.set_num_threads(2)
    assert torch.equal(single, kernels.gelu(x))


def test_adam_steps_match_torch_and_replay_from_the_tape() -> None:
    params = [rand(5, 3), rand(3)]
    ours = [p.clone() for p in params]
    theirs = [p.clone().requires_grad_(True) for p in params]
    opt = torch.optim.Adam(theirs, lr=0.01)
    moments = [torch.zeros(2, *p.shape) for p in params]
    ops = RepOps()
    tape = ops.start_tape()
    for step in range(1, 6):
        grads = [rand(*p.shape) for p in params]
        ops.adam_(ours, grads, moments, step, lr=0.01)
        for t, g in zip(theirs, grads, strict=True):
            t.grad = g.clone()
        opt.step()
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b.detach(), atol=1e-6)
    assert {e.name for e in tape.entries} == {"adam_moments", "adam_param"}
    for entry in tape.entries:
        assert replay_hash(entry.name, entry.inputs, entry.attrs) == entry.output_hash

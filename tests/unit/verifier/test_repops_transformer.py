"""The transformer kernels: the C and torch implementations agree bit for bit, and both are
numerically close to stock torch (LayerNorm, causal attention, GELU, embedding, AdamW,
clipping, the schedule)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from verifier.repops import kernels, native
from verifier.repops import transformer as tr

GEN = torch.Generator().manual_seed(11)


def rand(*shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=GEN) * scale


X = rand(37, 48)
W, B = rand(48) + 1, rand(48) * 0.1
G = rand(37, 48)
Q, K, V = rand(6, 9, 8), rand(6, 9, 8), rand(6, 9, 8)
SCORES = rand(6, 9, 9, scale=3.0)
P = tr.causal_softmax(SCORES, 0.35)
DP = rand(6, 9, 9)
TOKENS = torch.randint(0, 13, (4, 9), generator=GEN)
WTE, WPE = rand(13, 16), rand(9, 16)
GE = rand(36, 16)
LONG = rand(1000, 77)

CASES: dict[str, Callable[[], torch.Tensor]] = {
    "bmm": lambda: tr.bmm(Q, K, trans_b=True),
    "bmm_trans_a": lambda: tr.bmm(Q, V, trans_a=True),
    "bmm_plain": lambda: tr.bmm(SCORES, V),
    "causal_softmax": lambda: tr.causal_softmax(SCORES, 0.35),
    "causal_softmax_large": lambda: tr.causal_softmax(SCORES * 1e3, 1.0),
    "causal_softmax_grad": lambda: tr.causal_softmax_grad(DP, P, 0.35),
    "layer_norm": lambda: tr.layer_norm(X, W, B),
    "layer_norm_odd_width": lambda: tr.layer_norm(X[:, :37], W[:37], B[:37]),
    "layer_norm_grad": lambda: tr.layer_norm_grad(G, X, W),
    "layer_norm_grad_w": lambda: tr.layer_norm_grad_w(G, X),
    "embed": lambda: tr.embed(TOKENS, WTE, WPE),
    "embed_grad": lambda: tr.embed_grad(GE, TOKENS, 13),
    "global_norm": lambda: tr.global_norm(X, W, G),
    "global_norm_long": lambda: tr.global_norm(LONG, W),
    "clip": lambda: tr.clip(G, tr.global_norm(G), 1.0),
    "adam_moments": lambda: kernels.adam_moments(torch.stack([G, G.abs()]), X, 0.9, 0.999),
    "adam_param": lambda: kernels.adam_param(X, torch.stack([G, G.abs()]), 3, 0.01, 0.9, 0.999, 1e-8),
    "adamw_param_cosine": lambda: kernels.adam_param(X, torch.stack([G, G.abs()]), 3, 0.01, 0.9, 0.999, 1e-8, weight_decay=0.1, warmup=2, total=9),
    "gelu": lambda: kernels.gelu(X * 3),
    "gelu_grad": lambda: kernels.gelu_grad(G, X * 3),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_c_and_torch_kernels_agree_bit_for_bit(name: str) -> None:
    if native.library() is None:
        pytest.skip(f"no C kernels: {native.build_error()}")
    fast = CASES[name]()
    with native.disabled():
        slow = CASES[name]()
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    assert torch.equal(fast.view(torch.int32), slow.view(torch.int32)), name


def test_layer_norm_and_its_gradients_match_stock_torch() -> None:
    x, w, b = X.clone().requires_grad_(), W.clone().requires_grad_(), B.clone().requires_grad_()
    y = F.layer_norm(x, (48,), w, b, eps=tr.LN_EPS)
    y.backward(G)
    assert torch.allclose(tr.layer_norm(X, W, B), y.detach(), atol=1e-5)
    assert torch.allclose(tr.layer_norm_grad(G, X, W), x.grad, atol=1e-4)
    assert torch.allclose(tr.layer_norm_grad_w(G, X), w.grad, atol=1e-4)


def test_causal_attention_and_its_gradients_match_stock_torch() -> None:
    q, k, v = (t.clone().requires_grad_() for t in (Q, K, V))
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    gy = rand(*ref.shape)
    ref.backward(gy)
    scale = 1 / math.sqrt(Q.shape[-1])
    p = tr.causal_softmax(tr.bmm(Q, K, trans_b=True), scale)
    y = tr.bmm(p, V)
    assert torch.allclose(y, ref.detach(), atol=1e-5)
    ds = tr.causal_softmax_grad(tr.bmm(gy, V, trans_b=True), p, scale)
    assert torch.allclose(tr.bmm(ds, K), q.grad, atol=1e-4)
    assert torch.allclose(tr.bmm(ds, Q, trans_a=True), k.grad, atol=1e-4)
    assert torch.allclose(tr.bmm(p, gy, trans_a=True), v.grad, atol=1e-4)
    assert bool((p.triu(1) == 0).all()), "masked entries are exactly zero"


def test_embedding_gradient_is_the_scatter_add_of_stock_torch() -> None:
    wte, wpe = WTE.clone().requires_grad_(), WPE.clone().requires_grad_()
    out = (F.embedding(TOKENS, wte) + wpe).reshape(-1, 16)
    out.backward(GE)
    assert torch.equal(tr.embed(TOKENS, WTE, WPE), out.detach())
    assert torch.allclose(tr.embed_grad(GE, TOKENS, 13), wte.grad, atol=1e-5)
    with pytest.raises(IndexError):
        tr.embed(TOKENS + 13, WTE, WPE)


def test_adamw_matches_stock_torch_over_several_steps() -> None:
    p0, grads = rand(20), [rand(20) for _ in range(5)]
    ref = p0.clone().requires_grad_()
    opt = torch.optim.AdamW([ref], lr=0.01, weight_decay=0.1)
    mine, moments = p0.clone(), torch.zeros(2, 20)
    for step, g in enumerate(grads, 1):
        ref.grad = g.clone()
        opt.step()
        moments = kernels.adam_moments(moments, g, 0.9, 0.999)
        mine = kernels.adam_param(mine, moments, step, 0.01, 0.9, 0.999, 1e-8, weight_decay=0.1)
    assert torch.allclose(mine, ref.detach(), atol=1e-6)


def test_clipping_by_global_norm_matches_stock_torch() -> None:
    grads = [rand(7, 5, scale=3), rand(11, scale=3)]
    ref = [g.clone().requires_grad_() for g in grads]
    for r, g in zip(ref, grads, strict=True):
        r.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(ref, 1.0)
    norm = tr.global_norm(*grads)
    assert math.isclose(float(norm), float(total), rel_tol=1e-6)
    for r, g in zip(ref, grads, strict=True):
        assert torch.allclose(tr.clip(g, norm, 1.0), r.grad, atol=1e-6)
    assert torch.equal(tr.clip(grads[0], norm, 1e6), grads[0]), "under the threshold the gradient is unchanged"


def test_the_schedule_warms_up_then_decays_by_a_cosine_that_needs_no_libm() -> None:
    for x in (0.0, 0.3, 1.0, 2.0, math.pi / 2, math.pi):
        assert math.isclose(tr.cosine(x), math.cos(x), abs_tol=1e-15)
    lrs = [tr.lr_at(s, 1.0, warmup=4, total=20) for s in range(1, 21)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a > b for a, b in zip(lrs[4:], lrs[5:])) and math.isclose(lrs[-1], tr.MIN_LR_RATIO)
    assert tr.lr_at(7, 0.5) == 0.5

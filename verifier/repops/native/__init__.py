"""The RepOps CPU kernels in C (``repops.c``), built on first use and loaded with ctypes.

The C kernels perform exactly the IEEE operations of the torch implementation in
:mod:`verifier.repops.kernels`, so they return the same bits; they exist because a training
step of a small model in dozens of tiny torch operations is dominated by dispatch overhead.
The library is compiled once per machine with the system C compiler (``$CC``, default ``cc``)
into ``$MERITNET_CACHE_DIR/native`` with ``-ffp-contract=off`` (no fused multiply-add) and no
fast-math. Without a compiler, on CUDA tensors, or with ``MERITNET_REPOPS_NATIVE=0`` the
torch implementation runs instead: same bits, slower on CPU.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

__all__ = ["library", "usable", "set_threads", "disabled", "build_error"]

SOURCE = Path(__file__).with_name("repops.c")
FLAGS = ["-O3", "-march=native", "-std=c11", "-ffp-contract=off", "-fno-fast-math", "-fPIC", "-shared", "-pthread"]
_c_int64, _c_float, _c_double = ctypes.c_int64, ctypes.c_float, ctypes.c_double
_p = ctypes.c_void_p
_SIGNATURES = {
    "rp_matmul": [_p, _c_int64, _c_int64, _p, _c_int64, _c_int64, _p, _c_int64, _c_int64, _c_int64],
    "rp_tree_rows": [_p, _c_int64, _c_int64, _p, _c_int64, _c_int64],
    "rp_exp": [_p, _p, _c_int64],
    "rp_log": [_p, _p, _c_int64],
    "rp_log_softmax": [_p, _p, _c_int64, _c_int64],
    "rp_cross_entropy_sum": [_p, _p, _p, _c_int64, _c_int64, _c_float],
    "rp_cross_entropy_grad": [_p, _p, _p, _c_int64, _c_int64, _c_float],
    "rp_scale_add": [_p, _c_float, _p, _p, _c_int64],
    "rp_sub_scaled": [_p, _p, _c_float, _p, _c_int64],
    "rp_relu": [_p, _p, _c_int64],
    "rp_relu_grad": [_p, _p, _p, _c_int64],
    "rp_bmm": [_p, _c_int64, _c_int64, _c_int64, _p, _c_int64, _c_int64, _c_int64, _p, _c_int64, _c_int64, _c_int64, _c_int64],
    "rp_causal_softmax": [_p, _p, _c_int64, _c_int64, _c_float],
    "rp_causal_softmax_grad": [_p, _p, _p, _c_int64, _c_int64, _c_float],
    "rp_layer_norm": [_p, _p, _p, _p, _c_int64, _c_int64, _c_double],
    "rp_layer_norm_grad": [_p, _p, _p, _p, _c_int64, _c_int64, _c_double],
    "rp_layer_norm_xhat_prod": [_p, _p, _p, _c_int64, _c_int64, _c_double],
    "rp_gelu": [_p, _p, _c_int64],
    "rp_tree_vec": [_p, _p, _c_int64],
    "rp_set_threads": [ctypes.c_int],
    "rp_adam_moments": [_p, _p, _p, _c_int64, _c_float, _c_float, _c_float, _c_float],
    "rp_adam_param": [_p, _p, _p, _c_int64, _c_double, _c_double, _c_double, _c_double, _c_double],
    "rp_gelu_grad": [_p, _p, _p, _c_int64],
}
_VOID = ("rp_exp", "rp_log", "rp_scale_add", "rp_sub_scaled", "rp_relu", "rp_relu_grad", "rp_gelu", "rp_gelu_grad", "rp_adam_moments", "rp_adam_param", "rp_set_threads")

_DTYPES = (torch.float32, torch.int64)
_state: dict[str, object] = {}
_disabled = 0


def _cache_dir() -> Path:
    named = os.environ.get("MERITNET_CACHE_DIR")
    return (Path(named) if named else Path.home() / ".cache" / "meritnet") / "native"


def _cpu_model() -> str:
    """-march=native code is only for this CPU: the cache key names it."""
    try:
        return next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith(("model name", "flags"))), "")
    except OSError:
        return platform.processor()


def _build() -> Path:
    compiler = os.environ.get("CC", "cc")
    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join([compiler, *FLAGS, platform.machine(), _cpu_model()]).encode()).hexdigest()[:16]
    target = _cache_dir() / f"repops-{key}.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
        try:
            subprocess.run([compiler, *FLAGS, "-o", tmp, str(SOURCE), "-lm"], check=True, capture_output=True, timeout=120)
            os.replace(tmp, target)  # atomic: concurrent builders agree
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


def _load() -> ctypes.CDLL | None:
    if os.environ.get("MERITNET_REPOPS_NATIVE", "1") == "0":
        _state["error"] = "disabled by MERITNET_REPOPS_NATIVE=0"
        return None
    try:
        lib = ctypes.CDLL(str(_build()))
    except (OSError, subprocess.SubprocessError) as exc:
        detail = exc.stderr.decode(errors="replace")[-500:] if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else str(exc)
        _state["error"] = f"could not build the C kernels: {detail}"
        return None
    for name, argtypes in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = None if name in _VOID else ctypes.c_int
    from verifier.repops import kernels  # the constants both implementations share

    terms = (ctypes.c_double * kernels.EXP_TERMS_COUNT)(*kernels.EXP_TERMS)
    logs = (ctypes.c_double * len(kernels.LOG_TERMS))(*kernels.LOG_TERMS)
    lib.rp_init_gelu(_c_double(kernels._GELU_C), _c_double(kernels._GELU_K), _c_double(3 * kernels._GELU_K))
    lib.rp_init(terms, _c_double(kernels.LN2_HI), _c_double(kernels.LN2_LO), _c_double(kernels.LOG2E), _c_double(kernels.FLT_MIN), logs)
    return lib


def library() -> ctypes.CDLL | None:
    """The loaded C library, or None (see :func:`build_error`)."""
    if "lib" not in _state:
        _state["lib"] = _load()
    return None if _disabled else _state["lib"]  # type: ignore[return-value]


def build_error() -> str | None:
    library()
    return _state.get("error")  # type: ignore[return-value]


def set_threads(lib: ctypes.CDLL) -> None:
    """Large matmuls split their output rows among torch's CPU threads (same bits at any count)."""
    threads = torch.get_num_threads()
    if _state.get("threads") != threads:
        lib.rp_set_threads(threads)
        _state["threads"] = threads


def usable(*tensors: torch.Tensor) -> ctypes.CDLL | None:
    """The library, if every tensor is a float32 or int64 CPU tensor and the library is loaded."""
    lib = _state["lib"] if "lib" in _state and not _disabled else library()
    if lib is None:
        return None
    for t in tensors:
        if not t.is_cpu or t.dtype not in _DTYPES:
            return None
    return lib  # type: ignore[return-value]


@contextmanager
def disabled() -> Iterator[None]:
    """Run the torch implementation inside this block (tests compare both)."""
    global _disabled
    _disabled += 1
    try:
        yield
    finally:
        _disabled -= 1


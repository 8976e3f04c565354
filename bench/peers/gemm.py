"""fp32 GEMM peer: torch.matmul (Debian's PyTorch on OpenBLAS) at the shapes of `Scg.Bench quick gemm` (its four, or those given).

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/peers/gemm.py [MxKxN ...]

Threading (measured on the 2-core Zen 5 box): torch.matmul hands fp32 GEMM to OpenBLAS, whose pthread build
ignores torch.set_num_threads: OPENBLAS_NUM_THREADS=1 with torch.set_num_threads(2) runs at one core's speed
(~250 GFLOP/s at 1024^3), OPENBLAS_NUM_THREADS=2 reaches ~480-510. So OpenBLAS gets 2 threads (set below, before
torch loads) and torch keeps 1 (its own OpenMP pool has nothing to do in matmul; set_num_threads(2) on top of
OpenBLAS's 2 threads measured the same).

Prints `gemm-MxKxN <GFLOP/s> GFLOP/s` per shape (C = A·B, A M×K, B K×N, GFLOP = 2·M·K·N/1e9).
Timing, as in Scg.Bench: warm up 0.3 s, then 7 rounds of ~0.1 s each; the best round is reported
(the least disturbed one on a shared machine).
"""

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import torch  # noqa: E402  (must load after OPENBLAS_NUM_THREADS is set)

SHAPES = [(64, 784, 200), (3200, 784, 200), (512, 512, 512), (1024, 1024, 1024)]
ROUNDS = 7
ROUND_SECONDS = 0.1
WARMUP_SECONDS = 0.3


def rate(m: int, k: int, n: int) -> float:
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(m, k, generator=gen, dtype=torch.float32)
    b = torch.rand(k, n, generator=gen, dtype=torch.float32)
    c = torch.empty(m, n, dtype=torch.float32)

    def run(reps: int) -> float:
        start = time.perf_counter()
        for _ in range(reps):
            torch.matmul(a, b, out=c)
        return time.perf_counter() - start

    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < WARMUP_SECONDS:
        torch.matmul(a, b, out=c)
        calls += 1
    reps = max(1, int(ROUND_SECONDS * calls / (time.perf_counter() - start)))
    best = min(run(reps) for _ in range(ROUNDS)) / reps
    return 2.0 * m * k * n / best / 1e9


def parse_shape(text: str) -> tuple[int, int, int]:
    parts = text.split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        print(f"gemm.py: a shape is MxKxN with three positive integers (e.g. 64x784x200), got '{text}'", file=sys.stderr)
        sys.exit(2)
    m, k, n = (int(p) for p in parts)
    return m, k, n


def main() -> int:
    torch.set_num_threads(1)
    for m, k, n in [parse_shape(a) for a in sys.argv[1:]] or SHAPES:
        print(f"gemm-{m}x{k}x{n} {rate(m, k, n):.1f} GFLOP/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

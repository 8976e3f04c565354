#!/usr/bin/env python3
"""PyTorch peer for the Scg SBN training-step benchmark.

Model: nonlinear binary sigmoid belief net  200H~200H~784V  (Maddison, Mnih & Teh 2017,
"The Concrete Distribution", sec. 5.2 / appendix C.3.2 / D), fp32, batch 64, Adam lr 3e-4.

  p:  prior logits (200, learned) -> h2 in {-1,1}^200
      h2 -> Linear(200,200)-tanh-Linear(200,200)-tanh-Linear(200,200) -> logits of h1
      h1 -> Linear(200,200)-tanh-Linear(200,200)-tanh-Linear(200,784) -> Bernoulli logits of x
  q:  x  -> Linear(784,200)-tanh-Linear(200,200)-tanh-Linear(200,200) -> logits of h1
      h1 -> Linear(200,200)-tanh-Linear(200,200)-tanh-Linear(200,200) -> logits of h2
  Stochastic units take values in {-1,1} (discrete: 2*b-1, relaxed: 2*sigmoid(Y)-1).
  Glorot-uniform weights, zero biases, decoder output bias = logit(mean pixel) (app. D.3).
  No layer centering (app. D.4) -- not part of the benchmark spec.

Workloads (one full training step = sample, forward, bound, backward, Adam update):
  concrete-m1 / concrete-m5  logit-space Binary Concrete nodes Y=(logit+L)/lambda, L~Logistic,
                             posterior lambda1=2/3, prior lambda2=1/2, log-densities
                             log g(y) = log l - l*y + a - 2*softplus(a - l*y); objective
                             L_m = mean_b[logsumexp_i(log w_i) - log m]; loss = -L_m.
  nvil-m1                    discrete Bernoulli nodes, REINFORCE + NVIL (input-dependent
                             baseline MLP 784-100tanh-1 trained by squared error, running
                             mean/variance normalisation, decay 0.8).
  vimco-m5 / vimco-m50       discrete nodes, VIMCO (geometric-mean leave-one-out baselines).
  eval-L5000                 L_5000 on 100 test images, discrete graph, inference_mode,
                             chunks of samples x 100 images, stable logsumexp.
Inputs are fixed seeded Bernoulli(0.13) binary images (64 train rows reused every step,
100 separate test rows for eval).

Threading (2-vCPU AMD EPYC KVM guest, Debian python3-torch 1.13.1 + OpenBLAS 0.3.21 pthread,
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed -- the driver does that for its children).
tN = torch.set_num_threads(N), bM = OPENBLAS_NUM_THREADS=M, -passive = OMP_WAIT_POLICY=PASSIVE.
On this VM torch defaults to 1 intra-op thread and OpenBLAS to 2, so "default" == t1b2.
Median steps/s (eval: seconds) from interleaved `--sweep --quick` runs, 2026-11-23 (system date),
  quiet machine (other processes < 0.3 CPU) / contended (another process busy on ~1 CPU):

  config        concrete-m1   concrete-m5  nvil-m1       vimco-m5    vimco-m50  eval-L5000 [s]
  default       314 / 106     104 / 47     201 / 116     98 / 58     11.1 / 7.0  6.38 / 7.02
  t1b2          248 / 223      99 / 75     251 / 196     95 / 67      9.2 / 7.7  6.18 / 7.62
  t1b1          216 / 174      81 / 75     232 / 217     75 / 76      7.8 / 8.3  6.84 / 7.19
  t2b1          209 / 22      101 / 3.7    300 / 9.8     96 / 1.9     - / 0.8    5.14 / 19.6
  t2b2           74 / 1.0      31 / 2.5     95 / 1.3     32 / 0.6     5.5 / 0.6  7.15 / 21.4
  t2b1-passive  109 / 162      47 / 63     102 / 173     54 / 65      9.3 / 7.9  5.07 / 7.08
  t2b2-passive  171 / 96       81 / 32     193 / 90      82 / 64      9.4 / 7.6  5.95 / 7.04
  (t2b1 with OMP_WAIT_POLICY=ACTIVE was ~1-25 steps/s in a first contended try; dropped.)

Run-to-run noise on this shared VM is +-20-30% even between identical configs (default vs
t1b2 A/B on concrete-m1, 4 interleaved rounds: 243 vs 233 steps/s median).  Conclusions:
  * two OpenMP threads with libgomp's default wait policy (t2b1, t2b2) collapse by 10-100x as
    soon as another process occupies a core (spin-then-sleep barriers + preempted vCPU); on a
    quiet machine t2b1 is only on par with t1b2 for training.  This is the issue author's "4x".
  * training steps are dominated by per-op overhead on small tensors (64-3200 rows): one torch
    thread is best; two OpenBLAS threads help the 320/3200-row GEMMs when a core is free and
    cost little when it is not  -> t1b2 for all training workloads.
  * eval-L5000 has big elementwise ops (tanh / softplus / sampling over 10^4 x 784): a second
    OpenMP thread pays off, and the PASSIVE wait policy keeps it robust under contention
    -> t2b1-passive (~5.1 s vs ~6.2 s for t1b2 when quiet, equal when contended).
  * TorchScript for eval: no gain (script+freeze without fusion: same time); the NNC CPU fuser
    is unavailable in this build ("LLVM Backend not found").  inference_mode is used.
    Adam(foreach=True): no measurable gain (flag --foreach kept for experiments).

BEST_CONFIG below is what the default run uses.

Usage:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 sbn_step.py [--quick]
  ... sbn_step.py --sweep [--quick]          # all workloads x all threading configs
  ... sbn_step.py --check                    # math checks (bounds, VIMCO/NVIL unbiasedness)
  ... sbn_step.py --workload NAME [--config CFG] [--quick]   # one workload in-process
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

WORKLOADS = ["concrete-m1", "concrete-m5", "nvil-m1", "vimco-m5", "vimco-m50", "eval-L5000"]

# name -> (torch.set_num_threads value or None, extra environment for the worker process).
# The worker never inherits OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE / OPENBLAS_NUM_THREADS /
# OMP_NUM_THREADS / OMP_WAIT_POLICY from the caller; only what is listed here is set.
CONFIGS = {
    "default": (None, {}),
    "t1b2": (1, {"OPENBLAS_NUM_THREADS": "2"}),
    "t2b1": (2, {"OPENBLAS_NUM_THREADS": "1"}),
    "t1b1": (1, {"OPENBLAS_NUM_THREADS": "1"}),
    "t2b2": (2, {"OPENBLAS_NUM_THREADS": "2"}),
    "t2b1-passive": (2, {"OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}),
    "t2b1-active": (2, {"OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "ACTIVE"}),
    "t1b2-passive": (1, {"OPENBLAS_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"}),
    "t2b2-passive": (2, {"OPENBLAS_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"}),
    # same as t1b2 / t1b1 but torch's thread count pinned through the environment only
    "e1b2": (None, {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "2"}),
    "e1b1": (None, {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}),
}

BEST_CONFIG = {
    "concrete-m1": "t1b2",
    "concrete-m5": "t1b2",
    "nvil-m1": "t1b2",
    "vimco-m5": "t1b2",
    "vimco-m50": "t1b2",
    "eval-L5000": "t2b1-passive",
}

BATCH = 64
X_DIM, H_DIM = 784, 200
LR = 3e-4
LAM1, LAM2 = 2.0 / 3.0, 0.5          # posterior / prior temperature
NVIL_DECAY = 0.8
EVAL_SAMPLES, EVAL_IMAGES, EVAL_CHUNK = 5000, 100, 100
PIXEL_P = 0.13

# --------------------------------------------------------------------------------------
# Everything below `import torch` lives in functions so the driver never imports torch
# (env vars must be set before the worker's first `import torch`).
# --------------------------------------------------------------------------------------


def build(torch, x_dim=X_DIM, h_dim=H_DIM, hid=H_DIM, base_rate=PIXEL_P):
    nn = torch.nn

    def mlp(i, o):
        net = nn.Sequential(nn.Linear(i, hid), nn.Tanh(), nn.Linear(hid, hid), nn.Tanh(),
                            nn.Linear(hid, o))
        for mod in net:
            if isinstance(mod, nn.Linear):
                nn.init.xavier_uniform_(mod.weight)
                nn.init.zeros_(mod.bias)
        return net

    class SBN(nn.Module):
        def __init__(self):
            super().__init__()
            self.prior = nn.Parameter(torch.zeros(h_dim))   # logits of h2 (top)
            self.p_h1 = mlp(h_dim, h_dim)                   # h2 -> logits of h1
            self.p_x = mlp(h_dim, x_dim)                    # h1 -> logits of x
            self.q_h1 = mlp(x_dim, h_dim)                   # x  -> logits of h1
            self.q_h2 = mlp(h_dim, h_dim)                   # h1 -> logits of h2
            with torch.no_grad():
                self.p_x[-1].bias.fill_(math.log(base_rate / (1 - base_rate)))

    return SBN()


def make_baseline(torch, x_dim=X_DIM):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(x_dim, 100), nn.Tanh(), nn.Linear(100, 1))
    for mod in net:
        if isinstance(mod, nn.Linear):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    return net


def make_fns(torch):
    F = torch.nn.functional

    def logistic_logdens(y, logit, lam):
        """log g_{alpha,lambda}(y) of the logit-space Binary Concrete node, summed over units."""
        t = logit - lam * y
        return (math.log(lam) + t - 2.0 * F.softplus(t)).sum(-1)

    def bern_logprob(y_pm, logit):
        """log Bernoulli mass of y in {-1,1} with P(y=1)=sigmoid(logit), summed over units:
        log sigmoid(y*logit) = -softplus(-y*logit) (softplus is ~2x faster than logsigmoid
        in this torch build)."""
        return -F.softplus(-y_pm * logit).sum(-1)

    def logpx(x_logit, x):
        return -F.binary_cross_entropy_with_logits(x_logit, x, reduction="none").sum(-1)

    def sample_pm(logit):
        """Bernoulli(sigmoid(logit)) sample mapped to {-1,1}.  Same distribution as
        2*torch.bernoulli(torch.sigmoid(logit))-1, but torch.bernoulli is ~3x slower here."""
        return torch.where(torch.rand_like(logit) < torch.sigmoid(logit), 1.0, -1.0)

    def concrete_logw(model, xr):
        a1 = model.q_h1(xr)
        y1 = (a1 + torch.logit(torch.rand_like(a1), eps=1e-6)) / LAM1
        z1 = 2.0 * torch.sigmoid(y1) - 1.0
        a2 = model.q_h2(z1)
        y2 = (a2 + torch.logit(torch.rand_like(a2), eps=1e-6)) / LAM1
        z2 = 2.0 * torch.sigmoid(y2) - 1.0
        logq = logistic_logdens(y1, a1, LAM1) + logistic_logdens(y2, a2, LAM1)
        logp = (logistic_logdens(y2, model.prior, LAM2)
                + logistic_logdens(y1, model.p_h1(z2), LAM2)
                + logpx(model.p_x(z1), xr))
        return logp - logq

    def concrete_objective(model, x, m):
        B = x.shape[0]
        logw = concrete_logw(model, x.repeat(m, 1)).view(m, B)
        return (torch.logsumexp(logw, 0) - math.log(m)).mean()

    def discrete_terms(model, xr, h1=None, h2=None):
        """log q(h|x) and log p(x,h) per row; samples h if not given."""
        a1 = model.q_h1(xr)
        if h1 is None:
            h1 = sample_pm(a1)
        a2 = model.q_h2(h1)
        if h2 is None:
            h2 = sample_pm(a2)
        logq = bern_logprob(h1, a1) + bern_logprob(h2, a2)
        logp = (bern_logprob(h2, model.prior) + bern_logprob(h1, model.p_h1(h2))
                + logpx(model.p_x(h1), xr))
        return logq, logp

    def vimco_surrogate(logq, logp, m, B):
        """VIMCO surrogate (geometric-mean leave-one-out); returns (surrogate, L_hat)."""
        logq = logq.view(m, B)
        logw = (logp.view(m, B) - logq)
        L = torch.logsumexp(logw, 0) - math.log(m)               # (B,), pathwise term
        with torch.no_grad():
            if m > 1:
                lw = logw.detach()
                mean_others = (lw.sum(0, keepdim=True) - lw) / (m - 1)   # (m,B)
                M = lw.unsqueeze(0).expand(m, m, B).clone()             # M[j,i]=lw[i]
                idx = torch.arange(m)
                M[idx, idx] = mean_others                               # i==j -> mean_{-j}
                L_minus = torch.logsumexp(M, 1) - math.log(m)           # (m,B)
                signal = L.detach().unsqueeze(0) - L_minus
            else:  # leave-one-out undefined: no baseline information -> no score term
                signal = torch.zeros_like(logq)
        surrogate = ((signal * logq).sum(0) + L).mean()
        return surrogate, L.detach().mean()

    class NvilState:
        def __init__(self):
            self.c = 0.0
            self.v = 1.0

    def nvil_loss(model, baseline, state, x, h1=None, h2=None, update_stats=True):
        logq, logp = discrete_terms(model, x, h1, h2)
        ls = (logp - logq).detach()
        bl = baseline(x).squeeze(-1)
        with torch.no_grad():
            centered = ls - bl
            if update_stats:
                state.c = NVIL_DECAY * state.c + (1 - NVIL_DECAY) * centered.mean().item()
                state.v = NVIL_DECAY * state.v + (1 - NVIL_DECAY) * centered.var().item()
            A = (centered - state.c) / max(1.0, math.sqrt(state.v))
        surrogate = (A * logq + logp - logq).mean()
        baseline_loss = (ls - state.c - bl).pow(2).mean()
        return -surrogate + baseline_loss, ls.mean()

    def eval_bound(model, x, S, chunk):
        N = x.shape[0]
        a1 = model.q_h1(x)                      # q(h1|x) logits do not depend on the sample
        logws = []
        for s in range(0, S, chunk):
            c = min(chunk, S - s)
            A1 = a1.expand(c, N, a1.shape[-1]).reshape(c * N, -1)
            h1 = sample_pm(A1)
            a2 = model.q_h2(h1)
            h2 = sample_pm(a2)
            logq = bern_logprob(h1, A1) + bern_logprob(h2, a2)
            xl = model.p_x(h1).view(c, N, -1)
            lpx = torch.einsum("cnd,nd->cn", xl, x) - F.softplus(xl).sum(-1)
            logp = bern_logprob(h2, model.prior) + bern_logprob(h1, model.p_h1(h2))
            logws.append((logp - logq).view(c, N) + lpx)
        logw = torch.cat(logws, 0)
        return (torch.logsumexp(logw, 0) - math.log(S)).mean()

    return dict(concrete_objective=concrete_objective, discrete_terms=discrete_terms,
                vimco_surrogate=vimco_surrogate, NvilState=NvilState, nvil_loss=nvil_loss,
                eval_bound=eval_bound, logistic_logdens=logistic_logdens,
                bern_logprob=bern_logprob, logpx=logpx)


def make_step(torch, fns, name, x, foreach=None):
    """Returns (step_fn, model) where step_fn() does one full training step, returns objective."""
    model = build(torch, base_rate=float(x.mean()))
    params = list(model.parameters())
    kind, m = name.split("-m")
    m = int(m)
    B = x.shape[0]
    if kind == "concrete":
        opt = torch.optim.Adam(params, lr=LR, foreach=foreach)

        def step():
            opt.zero_grad(set_to_none=True)
            obj = fns["concrete_objective"](model, x, m)
            (-obj).backward()
            opt.step()
            return obj.detach()
    elif kind == "nvil":
        assert m == 1
        baseline = make_baseline(torch, x.shape[1])
        state = fns["NvilState"]()
        opt = torch.optim.Adam(params + list(baseline.parameters()), lr=LR, foreach=foreach)

        def step():
            opt.zero_grad(set_to_none=True)
            loss, obj = fns["nvil_loss"](model, baseline, state, x)
            loss.backward()
            opt.step()
            return obj
    elif kind == "vimco":
        opt = torch.optim.Adam(params, lr=LR, foreach=foreach)
        xr = x.repeat(m, 1)

        def step():
            opt.zero_grad(set_to_none=True)
            logq, logp = fns["discrete_terms"](model, xr)
            sur, obj = fns["vimco_surrogate"](logq, logp, m, B)
            (-sur).backward()
            opt.step()
            return obj
    else:
        raise ValueError(name)
    return step, model


def data(torch, rows, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((rows, X_DIM), PIXEL_P), generator=g)


def run_workload(name, config, quick, foreach, chunk):
    nthreads, _ = CONFIGS[config]
    import torch
    if nthreads is not None:
        torch.set_num_threads(nthreads)
    torch.manual_seed(0)
    x = data(torch, BATCH, 1234)
    fns = make_fns(torch)
    res = {"workload": name, "config": config, "torch_threads": torch.get_num_threads(),
           "openblas_env": os.environ.get("OPENBLAS_NUM_THREADS"),
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    if name == "eval-L5000":
        model = build(torch, base_rate=float(x.mean()))
        xt = data(torch, EVAL_IMAGES, 4321)
        reps = 2 if quick else 4
        times, vals = [], []
        with torch.inference_mode():
            fns["eval_bound"](model, xt, chunk, chunk)   # warm-up one chunk
            cpus = []
            for _ in range(reps):
                t0, c0 = time.perf_counter(), time.process_time()
                v = fns["eval_bound"](model, xt, EVAL_SAMPLES, chunk)
                times.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                vals.append(float(v))
        res.update(seconds=min(times), seconds_all=times, cpu_seconds=min(cpus), value=vals[-1],
                   chunk=chunk)
    else:
        step, _ = make_step(torch, fns, name, x, foreach)
        first = [float(step()) for _ in range(10)]           # warm-up
        chunk_s = 0.5 if quick else 2.0
        total_s = 2.5 if quick else 10.0
        rates, n_total, t_total = [], 0, 0.0
        cpu0 = time.process_time()
        while t_total < total_s:
            n, t0 = 0, time.perf_counter()
            while True:
                obj = step()
                n += 1
                t = time.perf_counter() - t0
                if t >= chunk_s:
                    break
            rates.append(n / t)
            n_total += n
            t_total += t
        cpu = time.process_time() - cpu0
        rates.sort()
        res.update(steps_per_s=rates[len(rates) // 2], steps_per_s_mean=n_total / t_total,
                   steps_per_cpu_s=n_total / cpu,
                   steps_per_s_best=rates[-1], steps=n_total + 10, first_obj=first[0],
                   last_obj=float(obj))
    res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return res


def child_env(config):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env.pop("OPENBLAS_NUM_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    env.update(CONFIGS[config][1])
    return env


def _busy_seconds():
    """Non-idle CPU seconds of the whole machine (all cores) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(t) for t in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_load, max_wait):
    """Wait (up to max_wait s) until other processes use < max_load CPUs over a 1 s window.
    The machine is shared (other sessions build/benchmark on it); returns the last load."""
    t_end = time.time() + max_wait
    while True:
        b0 = _busy_seconds()
        time.sleep(1.0)
        load = _busy_seconds() - b0
        if load < max_load or time.time() > t_end:
            return load


def spawn(name, config, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--workload", name, "--config", config,
           "--json", "--chunk", str(args.chunk)]
    if args.quick:
        cmd.append("--quick")
    if args.foreach:
        cmd.append("--foreach")
    pre = wait_quiet(args.max_load, args.max_wait) if args.max_wait > 0 else float("nan")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, w0 = _busy_seconds(), time.time()
    out = subprocess.run(cmd, env=child_env(config), stdout=subprocess.PIPE, check=True, text=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.time() - w0
    ours = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    # CPUs used by *other* processes while the worker ran (0 = quiet machine).
    res["foreign_load"] = max(0.0, (_busy_seconds() - b0) - ours) / wall
    res["pre_load"] = pre
    return res


def fmt(res):
    name = res["workload"]
    if name == "eval-L5000":
        line = f"{name} {res['seconds']:.2f} s"
    else:
        line = f"{name} {res['steps_per_s']:.1f} steps/s"
    return line, f"{name} peak-rss {res['peak_rss_mib']:.0f} MiB"


# --------------------------------------------------------------------------------------
# Math checks
# --------------------------------------------------------------------------------------

def run_checks():
    import itertools
    import torch
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    fns = make_fns(torch)
    ok = True

    def report(label, cond, detail):
        nonlocal ok
        ok &= bool(cond)
        print(f"[{'ok' if cond else 'FAIL'}] {label}: {detail}", flush=True)

    # 1. logistic log-density integrates to 1 and matches the cheat-sheet Logistic(mu,lam).
    lam, a = LAM1, torch.tensor([0.7])
    ys = torch.linspace(-60, 60, 200001).unsqueeze(-1)
    dens = fns["logistic_logdens"](ys, a, lam).exp()
    integral = float(torch.trapz(dens, ys.squeeze(-1)))
    report("log g integrates to 1", abs(integral - 1) < 1e-6, f"{integral:.8f}")
    # Monte-Carlo: Y=(a+L)/lam has mean a/lam
    L = torch.logit(torch.rand(2_000_000), eps=1e-12)
    Y = (a + L) / lam
    report("E[Y]=log(alpha)/lambda", abs(float(Y.mean()) - 0.7 / lam) < 0.01,
           f"{float(Y.mean()):.4f} vs {0.7 / lam:.4f}")

    # 2. Bounds of the untrained full-size model on the fixed batch are finite and plausible.
    torch.set_default_dtype(torch.float32)
    x = data(torch, BATCH, 1234)
    model = build(torch, base_rate=float(x.mean()))
    with torch.no_grad():
        c1 = float(fns["concrete_objective"](model, x, 1))
        c5 = float(fns["concrete_objective"](model, x, 5))
        logq, logp = fns["discrete_terms"](model, x)
        elbo = float((logp - logq).mean())
        _, v5 = fns["vimco_surrogate"](*fns["discrete_terms"](model, x.repeat(5, 1)), 5, BATCH)
        base = float(fns["logpx"](torch.full_like(x, math.log(x.mean() / (1 - x.mean()))), x).mean())
        xt = data(torch, EVAL_IMAGES, 4321)
        l5000 = float(fns["eval_bound"](model, xt, EVAL_SAMPLES, 500))
    report("untrained concrete L1 finite <0", math.isfinite(c1) and c1 < 0, f"{c1:.2f} nats")
    report("untrained concrete L5 finite <0, >= L1-ish", math.isfinite(c5) and c5 < 0,
           f"{c5:.2f} nats")
    report("untrained discrete ELBO finite <0", math.isfinite(elbo) and elbo < 0, f"{elbo:.2f}")
    report("untrained VIMCO L5 >= ELBO (in expectation)", math.isfinite(v5) and v5 < 0,
           f"{float(v5):.2f}")
    report("untrained L5000 (100 test imgs) finite", math.isfinite(l5000) and l5000 < 0,
           f"{l5000:.2f}; i.i.d. base-rate model log p(x) = {base:.2f}")

    # 3. VIMCO degenerations.
    lq = torch.randn(2, 3, requires_grad=True)
    lp = torch.randn(2, 3)
    # m=1: bound equals the ELBO and the score term vanishes
    s1, L1 = fns["vimco_surrogate"](lq[:1].reshape(-1), lp[:1].reshape(-1), 1, 3)
    report("VIMCO m=1 bound == ELBO", torch.allclose(L1, (lp[0] - lq[0]).mean().detach()),
           f"{float(L1):.4f}")
    g, = torch.autograd.grad(s1, lq)
    report("VIMCO m=1 surrogate grad == grad ELBO (no score term)",
           torch.allclose(g[0], torch.full((3,), -1 / 3)), str(g[0].tolist()))
    # m=2: geometric-mean LOO baseline for sample j is just the other log-weight,
    # so signal_j = L_hat - log w_{other}.
    lw = (lp - lq).detach()
    Lh = torch.logsumexp(lw, 0) - math.log(2)
    s2, _ = fns["vimco_surrogate"](lq.reshape(-1), lp.reshape(-1), 2, 3)
    g2, = torch.autograd.grad(s2, lq)
    wn = torch.softmax(lw, 0)
    expect = ((Lh - lw.flip(0)) - wn) / 3
    report("VIMCO m=2 signal == L_hat - log w_other", torch.allclose(g2, expect, atol=1e-6),
           f"max err {float((g2 - expect).abs().max()):.2e}")

    # 4. Exact unbiasedness on a tiny model by enumeration (float64):
    #    E_q[grad surrogate] == grad E_q[L_hat]  for VIMCO (m=2) and NVIL (m=1).
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(1)
    xd, hd = 3, 2
    tiny = build(torch, x_dim=xd, h_dim=hd, hid=4, base_rate=0.3)
    for p in tiny.parameters():
        with torch.no_grad():
            p.add_(0.3 * torch.randn_like(p))
    xs = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    B = xs.shape[0]
    states = [torch.tensor(s, dtype=torch.float64) for s in itertools.product([-1.0, 1.0], repeat=hd)]
    configs1 = [(a, b) for a in states for b in states]          # (h1, h2) per sample
    params = list(tiny.parameters())

    def logq_logp(h1, h2, xr):
        return fns["discrete_terms"](tiny, xr, h1, h2)

    for m in (2, 3):
        exact_obj = 0.0
        exp_grad = [torch.zeros_like(p) for p in params]
        # enumerate row by row (rows are independent, the objective is a sum over rows)
        for b in range(B):
            xb = xs[b:b + 1]
            for combo in itertools.product(range(len(configs1)), repeat=m):
                h1 = torch.stack([configs1[k][0] for k in combo])
                h2 = torch.stack([configs1[k][1] for k in combo])
                xr = xb.repeat(m, 1)
                logq, logp = logq_logp(h1, h2, xr)
                prob = logq.sum().exp()                      # prob of this combo (has grad)
                sur, _ = fns["vimco_surrogate"](logq, logp, m, 1)
                Lh = torch.logsumexp(logp - logq, 0) - math.log(m)
                exact_obj = exact_obj + prob * Lh           # differentiable exact objective
                gs = torch.autograd.grad(sur, params, allow_unused=True, retain_graph=True)
                for acc, gg in zip(exp_grad, gs):
                    if gg is not None:
                        acc += prob.detach() * gg
        true_grad = torch.autograd.grad(exact_obj, params, allow_unused=True)
        err = max(float((e - (t if t is not None else 0)).abs().max()) for e, t in zip(exp_grad, true_grad))
        scale = max(float(t.abs().max()) for t in true_grad if t is not None)
        report(f"VIMCO m={m} E[surrogate grad] == grad L_{m} (exact enumeration)", err < 1e-9 * max(1, scale),
               f"max abs err {err:.2e} (grad scale {scale:.2e})")

    # NVIL: with a fixed (arbitrary) baseline and running mean c, E[grad surrogate] == grad
    # ELBO.  The variance normalisation divides the score term by max(1, sqrt(v)) -- an
    # intended per-step rescaling of the q gradient (Mnih & Gregor 2014) -- so check at v<=1.
    baseline = make_baseline(torch, xd)
    state = fns["NvilState"]()
    state.c, state.v = 0.37, 0.5
    exact_obj = 0.0
    exp_grad = [torch.zeros_like(p) for p in params]
    for b in range(B):
        xb = xs[b:b + 1]
        for (h1, h2) in configs1:
            logq, logp = logq_logp(h1[None], h2[None], xb)
            prob = logq.sum().exp()
            exact_obj = exact_obj + prob * (logp - logq).sum()
            loss, _ = fns["nvil_loss"](tiny, baseline, state, xb, h1[None], h2[None], update_stats=False)
            gs = torch.autograd.grad(-loss, params, allow_unused=True, retain_graph=True)
            for acc, gg in zip(exp_grad, gs):
                if gg is not None:
                    acc += prob.detach() * gg
    true_grad = torch.autograd.grad(exact_obj, params, allow_unused=True)
    err = max(float((e - t).abs().max()) for e, t in zip(exp_grad, true_grad))
    report("NVIL E[surrogate grad] == grad ELBO (exact enumeration)", err < 1e-9,
           f"max abs err {err:.2e}")

    # 5. Training on the fixed batch improves the objective (200 steps each, float32).
    torch.set_default_dtype(torch.float32)
    for name in WORKLOADS[:-1]:
        torch.manual_seed(0)
        step, _ = make_step(torch, fns, name, x)
        objs = [float(step()) for _ in range(200)]
        a0 = sum(objs[:20]) / 20
        a1 = sum(objs[-20:]) / 20
        report(f"{name} objective improves over 200 steps", a1 > a0 + 1.0 and math.isfinite(a1),
               f"mean first 20 = {a0:.2f}, mean last 20 = {a1:.2f}")
    print("ALL CHECKS PASSED" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=WORKLOADS)
    ap.add_argument("--config", choices=list(CONFIGS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="all workloads x all thread configs")
    ap.add_argument("--only", nargs="*", choices=WORKLOADS, help="restrict to these workloads")
    ap.add_argument("--configs", nargs="*", choices=list(CONFIGS), help="configs for --sweep")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--foreach", action="store_true", help="Adam(foreach=True)")
    ap.add_argument("--chunk", type=int, default=EVAL_CHUNK, help="eval samples per chunk")
    ap.add_argument("--rounds", type=int, default=3, help="--sweep: round-robin repetitions")
    ap.add_argument("--max-load", type=float, default=0.3,
                    help="wait until other processes use fewer CPUs than this before a run")
    ap.add_argument("--max-wait", type=float, default=60.0,
                    help="max seconds to wait for a quiet machine before each run (0: never)")
    args = ap.parse_args()

    if args.check:
        sys.exit(run_checks())
    if args.workload:
        config = args.config or BEST_CONFIG[args.workload]
        res = run_workload(args.workload, config, args.quick, True if args.foreach else None,
                           args.chunk)
        if args.json:
            print(json.dumps(res))
        else:
            for line in fmt(res):
                print(line)
        return
    names = args.only or WORKLOADS
    if args.sweep:
        configs = args.configs or list(CONFIGS)
        runs = {}
        for rnd in range(args.rounds):
            for name in names:
                for cfg in configs:
                    res = spawn(name, cfg, args)
                    runs.setdefault((name, cfg), []).append(res)
                    val = (f"{res['seconds']:.2f} s (cpu {res['cpu_seconds']:.2f} s)"
                           if name == "eval-L5000" else
                           f"{res['steps_per_s']:.1f} steps/s ({res['steps_per_cpu_s']:.1f}/cpu-s)")
                    print(f"# round {rnd} {name:12s} {cfg:13s} {val:34s} "
                          f"peak-rss {res['peak_rss_mib']:.0f} MiB  other-load "
                          f"{res['foreign_load']:.2f} CPUs", flush=True)
        print("# summary: best / median over rounds (steps/s, or s for eval), max peak RSS")
        for name in names:
            for cfg in configs:
                rs = runs[(name, cfg)]
                key = "seconds" if name == "eval-L5000" else "steps_per_s"
                vals = sorted(r[key] for r in rs)
                best = vals[0] if key == "seconds" else vals[-1]
                med = vals[len(vals) // 2]
                unit = "s" if key == "seconds" else "steps/s"
                print(f"{name:12s} {cfg:13s} best {best:7.2f} median {med:7.2f} {unit:8s} "
                      f"peak-rss {max(r['peak_rss_mib'] for r in rs):.0f} MiB  "
                      f"other-load max {max(r['foreign_load'] for r in rs):.2f}", flush=True)
        return
    for name in names:
        res = spawn(name, BEST_CONFIG[name], args)
        line, rss = fmt(res)
        print(line, flush=True)
        print(rss, file=sys.stderr, flush=True)
        if res["foreign_load"] > 0.25:
            print(f"# warning: other processes used {res['foreign_load']:.2f} CPUs during "
                  f"{name}; the number is pessimistic", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

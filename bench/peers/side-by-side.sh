#!/usr/bin/env bash
# Runs the Scg quick step bench and the PyTorch peer (bench/peers/sbn_step.py, tuned threading) on this machine,
# interleaved: for each round and workload, Scg then PyTorch, so that drift in the machine's speed (it is shared)
# hits both sides alike. Prints one table: workload, the median over rounds of Scg and of PyTorch, the ratio of
# the medians (Scg / PyTorch in steps/s; for eval-L5000 the columns are seconds and the ratio is PyTorch s / Scg s,
# so >1 always means Scg is faster), the peak RSS of each, the median share of this machine's FMA peak that Scg's
# products reach (the bench measures the peak at its start), and every round's value on each side (lowest-highest).
# Every run is its own process, so peak RSS is per workload.
#
# Usage: bench/peers/side-by-side.sh [--long] [--rounds N]     (from the repository root or anywhere; N defaults to 3)
#   SCG_STEP_CMD   overrides the Scg command (default: the Release build of bench/Scg.Bench, built first)
#   PYTHON         overrides the interpreter (default /usr/bin/python3)
#   KEEP_DIR       keeps the raw outputs there (default: a temporary directory, removed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
long=""; rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --long) long="--long" ;;
    --rounds) rounds="$2"; shift ;;
    *) echo "side-by-side.sh: unknown argument '$1'; expected --long or --rounds N" >&2; exit 2 ;;
  esac
  shift
done
quick="--quick"; [[ -n "$long" ]] && quick=""
dir="${KEEP_DIR:-$(mktemp -d)}"; mkdir -p "$dir"
[[ -z "${KEEP_DIR:-}" ]] && trap 'rm -rf "$dir"' EXIT

if [[ -z "${SCG_STEP_CMD:-}" ]]; then
  dotnet build -c Release bench/Scg.Bench -v q -nologo > "$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
  scg_cmd="dotnet run -c Release --no-build --project bench/Scg.Bench -- quick step"
else
  scg_cmd="$SCG_STEP_CMD"
fi
py="${PYTHON:-/usr/bin/python3}"
workloads=(concrete-m1 concrete-m5 nvil-m1 vimco-m5 vimco-m50 eval-L5000)
echo "# $(date -u +%FT%TZ) $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg), $rounds interleaved rounds" >&2
echo "# scg:     $scg_cmd <workload> $long" >&2
echo "# pytorch: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $py bench/peers/sbn_step.py $quick --only <workload>" >&2
for ((r = 0; r < rounds; r++)); do
  for w in "${workloads[@]}"; do
    $scg_cmd "$w" $long >>"$dir/scg.out" 2>>"$dir/scg.err" || { cat "$dir/scg.err" >&2; exit 1; }
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" bench/peers/sbn_step.py $quick --only "$w" >>"$dir/torch.out" 2>&1 \
      || { cat "$dir/torch.out" >&2; exit 1; }
  done
done

awk '
  function sorted(list, a,    n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n
  }
  function median(list,    a, n) { n = sorted(list, a); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function spread(list,    a, n) { n = sorted(list, a); return n == 0 ? "-" : sprintf("%g-%g", a[1], a[n]) }
  FNR == 1 { side = (FILENAME ~ /scg\.out$/) ? "scg" : "pt" }
  $2 == "peak-rss" { if ($3 + 0 > rss[side, $1] + 0) rss[side, $1] = $3; next }
  $2 == "gemm" && $8 == "%" { peak[$1] = peak[$1] " " $7; next }
  $3 == "steps/s" || ($3 == "s" && $1 ~ /^eval/) {
    vals[side, $1] = vals[side, $1] " " $2; unit[$1] = $3
    if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 }
  }
  END {
    printf "%-12s %14s %14s %8s %14s %14s %10s   %s\n", "workload", "Scg", "PyTorch", "ratio", "Scg peak RSS", "PyTorch RSS", "% of peak", "rounds: Scg | PyTorch"
    for (i = 0; i < n; i++) {
      w = order[i]; s = vals["scg", w] == "" ? "" : median(vals["scg", w]); p = vals["pt", w] == "" ? "" : median(vals["pt", w]); r = "-"
      if (s != "" && p != "" && s + 0 > 0 && p + 0 > 0) r = sprintf("%.2fx", unit[w] == "s" ? p / s : s / p)
      u = unit[w] == "s" ? " s" : "/s"
      printf "%-12s %14s %14s %8s %14s %14s %10s   %s | %s\n", w, (s == "" ? "-" : sprintf("%.2f", s) u), (p == "" ? "-" : sprintf("%.2f", p) u), r,
        (rss["scg", w] == "" ? "-" : rss["scg", w] " MiB"), (rss["pt", w] == "" ? "-" : rss["pt", w] " MiB"),
        (peak[w] == "" ? "-" : sprintf("%.1f %%", median(peak[w]))), spread(vals["scg", w]), spread(vals["pt", w])
    }
  }' "$dir/scg.out" "$dir/torch.out"
echo "# Scg allocations (managed bytes on the stepping thread after warm-up), per run:" >&2
grep -E ' alloc ' "$dir/scg.out" | sort -u >&2 || true

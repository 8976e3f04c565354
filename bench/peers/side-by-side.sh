#!/usr/bin/env bash
# Runs the Scg quick step bench and the PyTorch peer (bench/peers/sbn_step.py, tuned threading) back to back on
# this machine and prints one table: workload, Scg steps/s, PyTorch steps/s, ratio (Scg / PyTorch; for eval-L5000
# the columns are seconds and the ratio is PyTorch s / Scg s, i.e. >1 means Scg is faster), peak RSS of each.
# Every workload runs in its own process on both sides, so peak RSS is per workload.
#
# Usage: bench/peers/side-by-side.sh [--long]          (from the repository root or anywhere)
#   SCG_STEP_CMD   overrides the Scg command (default: dotnet run -c Release --project bench/Scg.Bench -- quick step)
#   PYTHON         overrides the interpreter (default /usr/bin/python3)
#   KEEP_DIR       keeps the raw outputs there (default: a temporary directory, removed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
long=""; [[ "${1:-}" == "--long" ]] && long="--long"
quick="--quick"; [[ -n "$long" ]] && quick=""
dir="${KEEP_DIR:-$(mktemp -d)}"; mkdir -p "$dir"
[[ -z "${KEEP_DIR:-}" ]] && trap 'rm -rf "$dir"' EXIT

scg_cmd="${SCG_STEP_CMD:-dotnet run -c Release --project bench/Scg.Bench -- quick step}"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# scg:     $scg_cmd $long" >&2
$scg_cmd $long >"$dir/scg.out" 2>"$dir/scg.err" || { cat "$dir/scg.err" >&2; exit 1; }
py="${PYTHON:-/usr/bin/python3}"
echo "# pytorch: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $py bench/peers/sbn_step.py $quick" >&2
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" bench/peers/sbn_step.py $quick >"$dir/torch.out" 2>&1 \
  || { cat "$dir/torch.out" >&2; exit 1; }

awk '
  FNR == 1 { side = (FILENAME ~ /scg\.out$/) ? "scg" : "pt" }
  $2 == "peak-rss" { rss[side, $1] = $3; next }
  $3 == "steps/s" || ($3 == "s" && $1 ~ /^eval/) { val[side, $1] = $2; unit[$1] = $3; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
  END {
    printf "%-12s %12s %12s %8s %14s %14s\n", "workload", "Scg", "PyTorch", "ratio", "Scg peak RSS", "PyTorch RSS"
    for (i = 0; i < n; i++) {
      w = order[i]; s = val["scg", w]; p = val["pt", w]; r = "-"
      if (s != "" && p != "" && s + 0 > 0 && p + 0 > 0) r = sprintf("%.2fx", unit[w] == "s" ? p / s : s / p)
      u = unit[w] == "s" ? " s" : "/s"
      printf "%-12s %12s %12s %8s %14s %14s\n", w, (s == "" ? "-" : s u), (p == "" ? "-" : p u), r,
        (rss["scg", w] == "" ? "-" : rss["scg", w] " MiB"), (rss["pt", w] == "" ? "-" : rss["pt", w] " MiB")
    }
  }' "$dir/scg.out" "$dir/torch.out"
echo "# Scg allocations (managed bytes on the stepping thread after warm-up):" >&2
grep -E ' alloc ' "$dir/scg.out" >&2 || true

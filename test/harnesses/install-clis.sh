#!/usr/bin/env bash
# Installs the real agent CLIs (claude, codex, opencode) for the harness suite, at the versions the
# harness image pins (images/Dockerfile, ARG CLIS), outside the project's own install: they are
# about 1 GB. Prints the directory whose node_modules/.bin holds them; the suite finds them there
# through BENCH_PIPELINE_TEST_CLIS (default: the same directory).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${BENCH_PIPELINE_TEST_CLIS:-${XDG_CACHE_HOME:-$HOME/.cache}/bench-pipeline/test-clis}
clis=$(sed -n 's/^ARG CLIS="\(.*\)"$/\1/p' images/Dockerfile)
[ -n "$clis" ] || { echo "no ARG CLIS in images/Dockerfile" >&2; exit 1; }
mkdir -p "$dir"
if [ "$(cat "$dir/.installed" 2>/dev/null)" != "$clis" ]; then
  npm install --prefix "$dir" --no-fund --no-audit --no-save $clis >&2
  echo "$clis" >"$dir/.installed"
fi
echo "$dir"

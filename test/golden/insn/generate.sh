#!/usr/bin/env bash
# Regenerates test/golden/insn/cases/*.json.gz by executing every case on the
# host CPU. Needs: x86-64 Linux, gcc, GNU binutils (as, objcopy), node >= 20.
# Not needed at test time: the replay only reads the committed cases/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ "$(uname -m)" = x86_64 ] || { echo "generate.sh: needs an x86-64 host" >&2; exit 1; }
for t in gcc as objcopy node; do
  command -v "$t" >/dev/null || { echo "generate.sh: missing $t" >&2; exit 1; }
done
work="$(mktemp -d "${TMPDIR:-/tmp}/insn-golden.XXXXXX")"
trap 'rm -rf "$work"' EXIT

gcc -O1 -Wall -Wextra -Werror -o "$work/gen" "$here/gen.c" "$here/run.S"
# write everything into a temp dir first, check it, then swap files in by rename
mkdir -p "$work/cases" "$work/asm"
node "$here/cases.mjs" --gen "$work/gen" --out "$work/cases" --work "$work/asm"
node "$here/selfcheck.mjs" "$work/cases"
mkdir -p "$here/cases"
for f in "$work"/cases/*.json.gz; do
  cp "$f" "$here/cases/.$(basename "$f").tmp"
  mv -f "$here/cases/.$(basename "$f").tmp" "$here/cases/$(basename "$f")"
done
if [ "${1:-}" = "--analyze" ]; then node "$here/analyze.mjs" "$here/cases"; fi

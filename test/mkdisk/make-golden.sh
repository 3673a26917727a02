#!/bin/sh
# Regenerates gnu-tar.tar (see make-golden.ts). Needs GNU tar; run from the repository root.
set -eu
npx esbuild test/mkdisk/make-golden.ts --bundle --platform=node --format=esm --log-level=warning | node --input-type=module - test/mkdisk/gnu-tar.tar
tar --version | head -1

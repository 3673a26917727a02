#!/usr/bin/env bash
# Rebuilds the benchmark's static Linux program: memloop-user.S (+ memloop.inc)
# -> bin/memloop-user, a static x86-64 ELF without libc. Needs GNU binutils
# (as, ld). The binary is committed, so `npm run bench` does not need this.
# The system-mode half is test/guest/bench-memloop.S: test/guest/build.sh bench-memloop
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p bin
as --64 -I "$here" -o "$tmp/memloop-user.o" memloop-user.S
ld -m elf_x86_64 -static -nostdlib --build-id=none -z noexecstack -Tbss=0x10000000 \
    -o bin/memloop-user "$tmp/memloop-user.o"
printf '%-20s %6d bytes\n' bin/memloop-user "$(stat -c %s bin/memloop-user)"

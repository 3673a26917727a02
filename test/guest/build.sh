#!/usr/bin/env bash
# Rebuilds the guest test programs: test/guest/NAME.S -> test/guest/bin/NAME.elf
# (multiboot v1, ELF32 container holding 32/16/64-bit code, loaded at 1 MiB).
# Needs only GNU binutils (as, ld, ar, objcopy). The images are committed, so
# nothing at test time needs this script.  Usage: test/guest/build.sh [NAME...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

AS=(as --64 -I "$here")
libobjs=()
for src in lib/*.S; do
    obj="$tmp/lib-$(basename "${src%.S}").o"
    "${AS[@]}" -o "$obj" "$src"
    libobjs+=("$obj")
done
rm -f "$tmp/lib.a"
ar rcsD "$tmp/lib.a" "${libobjs[@]}"

if [ $# -gt 0 ]; then names=("$@"); else
    names=()
    for src in *.S; do names+=("${src%.S}"); done
fi
mkdir -p bin
for name in "${names[@]}"; do
    "${AS[@]}" -o "$tmp/$name.o" "$name.S"
    ld -m elf_x86_64 -n -nostdlib --build-id=none -z noexecstack --no-warn-rwx-segments -T link.ld \
        -o "$tmp/$name.elf64" "$tmp/$name.o" "$tmp/lib.a"
    # QEMU's multiboot loader refuses ELF64: same contents, ELF32 container.
    objcopy -O elf32-i386 "$tmp/$name.elf64" "bin/$name.elf"
    printf '%-16s %6d bytes\n' "bin/$name.elf" "$(stat -c %s "bin/$name.elf")"
done

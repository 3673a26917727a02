#!/bin/sh
# Makes sgdisk-gpt.img: an 8 MiB disk partitioned by GPT fdisk (sgdisk 1.0.9, Debian's
# gdisk package) with fixed GUIDs, stored as a dfly image. gpt.test.ts checks that
# emu/firmware/gpt.ts reads it, and writes the same table byte for byte.
# Run from the repository root after `node tools/build.mjs`.
set -eu
out=test/firmware/golden/sgdisk-gpt.img
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 8M "$tmp/disk.raw"
sgdisk -o -U 11111111-2222-3333-4444-555555555555 \
  -n 1:2048:+1M -t 1:946BB628-F2AB-4512-88D2-237D8E4F4B3B -c 1:boot -u 1:AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE \
  -n 2:4096:+2M -t 2:0488F94D-0D27-405E-ADCB-61BB4F8A605F -c 2:root -u 2:12345678-9ABC-4DEF-8123-456789ABCDEF \
  "$tmp/disk.raw" >/dev/null
rm -f "$out"
node bin/emu.mjs img convert -O dfly "$tmp/disk.raw" "$out"

// The kernel's command line (multiboot's, from the boot loader: `emu boot
// -append`, QEMU -append): words separated by spaces, `key=value` options.

/*
 * bytes_match: whether the bytes at p are the first len characters of s
 * (ASCII), for words of the command line and of the monitor's input.
 * Context: any.
 */
export function bytes_match(p: usize, s: string, len: i32 = s.length): bool {
  for (let i = 0; i < len; i++) if (load<u8>(p + <usize>i) != <u8>s.charCodeAt(i)) return false;
  return true;
}

/* cmdline_value_end: where the value cmdline_value found ends. Per CPU (only the BSP parses). */
let value_end: usize = 0;

/*
 * cmdline_value: the first `KEY=value` word's value (its start; it ends at
 * cmdline_value_end()), or 0 when the command line has no such word (mbInfo
 * 0: no multiboot information).
 * Context: the BSP.
 */
export function cmdline_value(mbInfo: usize, key: string): usize {
  if (mbInfo == 0 || (load<u32>(mbInfo) & 4) == 0) return 0;
  let p: usize = load<u32>(mbInfo, 16);
  while (load<u8>(p) != 0) {
    while (load<u8>(p) == 0x20) p++;
    const start = p;
    while (load<u8>(p) != 0 && load<u8>(p) != 0x20) p++;
    if (p - start <= <usize>key.length || load<u8>(start + <usize>key.length) != 0x3d) continue;
    if (!bytes_match(start, key)) continue;
    value_end = p;
    return start + <usize>key.length + 1;
  }
  return 0;
}

/* cmdline_value_end: the end of the value cmdline_value last returned. */
export function cmdline_value_end(): usize {
  return value_end;
}

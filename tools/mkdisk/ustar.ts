/**
 * POSIX ustar archives (IEEE Std 1003.1-2017, pax, "ustar Interchange
 * Format"): what a data partition holds, so that a kernel without a
 * filesystem driver can walk it — 512-byte headers, each followed by its
 * file's data padded to 512 bytes, and two zero blocks at the end.
 *
 * Deterministic: the caller gives entries in order; every entry has uid and
 * gid 0 (owner names "root"), mtime 0, and a mode that keeps only whether a
 * file is executable (0755, else 0644; directories 0755, symbolic links 0777).
 *
 * Header block (the numeric fields are octal ASCII, NUL-terminated):
 *
 *     0 100 name        257   6 magic "ustar\0"
 *   100   8 mode        263   2 version "00"
 *   108   8 uid         265  32 uname
 *   116   8 gid         297  32 gname
 *   124  12 size        329   8 devmajor
 *   136  12 mtime       337   8 devminor
 *   148   8 chksum      345 155 prefix (the path is prefix "/" name when it is long)
 *   156   1 typeflag    500  12 padding
 *   157 100 linkname
 *
 * chksum is the sum of the header's bytes taken as unsigned, with the chksum
 * field itself counted as eight spaces; written as six octal digits, NUL, space.
 */

export const BLOCK = 512;
const enum T { Name = 0, Mode = 100, Uid = 108, Gid = 116, Size = 124, Mtime = 136, Chksum = 148, Typeflag = 156, Linkname = 157, Magic = 257, Version = 263, Uname = 265, Gname = 297, Devmajor = 329, Devminor = 337, Prefix = 345 }
const NAME_MAX = 100, PREFIX_MAX = 155, LINK_MAX = 100;
/** 11 octal digits. */
const SIZE_LIMIT = 8 ** 11;

export type TarEntry =
  | { kind: 'file'; path: string; executable: boolean; data: Uint8Array }
  | { kind: 'dir'; path: string }
  | { kind: 'symlink'; path: string; target: string };

export function ustarSize(entries: TarEntry[]): number {
  return entries.reduce((n, e) => n + BLOCK + (e.kind === 'file' ? padded(e.data.length) : 0), 2 * BLOCK);
}

/** The archive of `entries`, in the order given; throws on a path or link target ustar cannot hold. */
export function ustarArchive(entries: TarEntry[]): Uint8Array {
  const out = new Uint8Array(ustarSize(entries));
  let at = 0;
  for (const e of entries) {
    out.set(header(e), at);
    at += BLOCK;
    if (e.kind === 'file') {
      out.set(e.data, at);
      at += padded(e.data.length);
    }
  }
  return out;
}

function header(e: TarEntry): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const [prefix, name] = splitPath(e.kind === 'dir' ? `${e.path}/` : e.path);
  put(h, T.Name, name, NAME_MAX);
  put(h, T.Prefix, prefix, PREFIX_MAX);
  const mode = e.kind === 'dir' ? 0o755 : e.kind === 'symlink' ? 0o777 : e.executable ? 0o755 : 0o644;
  octal(h, T.Mode, 8, mode);
  octal(h, T.Uid, 8, 0);
  octal(h, T.Gid, 8, 0);
  const size = e.kind === 'file' ? e.data.length : 0;
  if (size >= SIZE_LIMIT) throw new Error(`${e.path}: ${size} bytes is too large for ustar (under 8 GiB)`);
  octal(h, T.Size, 12, size);
  octal(h, T.Mtime, 12, 0);
  h[T.Typeflag] = (e.kind === 'dir' ? '5' : e.kind === 'symlink' ? '2' : '0').charCodeAt(0);
  if (e.kind === 'symlink') {
    if (utf8(e.target).length > LINK_MAX) throw new Error(`${e.path}: link target longer than ${LINK_MAX} bytes (ustar's limit)`);
    put(h, T.Linkname, e.target, LINK_MAX);
  }
  put(h, T.Magic, 'ustar\0', 6);
  put(h, T.Version, '00', 2);
  put(h, T.Uname, 'root', 32);
  put(h, T.Gname, 'root', 32);
  octal(h, T.Devmajor, 8, 0);
  octal(h, T.Devminor, 8, 0);
  h.fill(0x20, T.Chksum, T.Chksum + 8);
  const sum = h.reduce((s, b) => s + b, 0);
  octal(h, T.Chksum, 7, sum);
  h[T.Chksum + 7] = 0x20;
  return h;
}

/** A path of up to 100 bytes goes in name; a longer one is split at a "/" into prefix (≤ 155) and name (≤ 100). */
function splitPath(path: string): [string, string] {
  const bytes = utf8(path);
  if (bytes.length <= NAME_MAX) return ['', path];
  // A directory's trailing "/" stays with its name.
  for (let i = path.lastIndexOf('/', path.length - 2); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i), name = path.slice(i + 1);
    if (utf8(name).length > NAME_MAX) break;
    if (utf8(prefix).length <= PREFIX_MAX) return [prefix, name];
  }
  throw new Error(`${path}: path too long for ustar (a name of at most ${NAME_MAX} bytes after a "/"-separated prefix of at most ${PREFIX_MAX})`);
}

function put(h: Uint8Array, at: number, s: string, max: number): void {
  const b = utf8(s);
  if (b.length > max) throw new Error(`'${s}' is longer than ${max} bytes`);
  h.set(b, at);
}

/** `width - 1` octal digits, zero-padded, and a NUL. */
function octal(h: Uint8Array, at: number, width: number, n: number): void {
  put(h, at, n.toString(8).padStart(width - 1, '0'), width - 1);
  h[at + width - 1] = 0;
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
const utf8 = (s: string) => new TextEncoder().encode(s);

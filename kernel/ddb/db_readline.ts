// The monitor's line editor: one line of input from COM1 with the editing
// keys a terminal user expects (emacs-style controls, the VT100 arrow and
// Home/End/Delete sequences), a history of earlier lines, and completion of
// the first word by a callback-free table the caller passes in.
//
// Echo is minimal, so that a transcript of typed input reads as the input:
// a character typed at the end of the line is echoed as itself; any other
// edit redraws the line (CR, prompt, text, erase to the end of the line,
// cursor back into place).

import { lock, putc, puts, unlock } from "../console";
import { sio_getc } from "../dev/sio";

/** Longest line, in bytes. */
export const DB_LINE_MAX: i32 = 120;
const HISTORY: i32 = 16;

// The monitor runs on the BSP alone: its buffers are plain memory.
const line: usize = memory.data(DB_LINE_MAX);
const history: usize = memory.data(DB_LINE_MAX * HISTORY);
const history_len: usize = memory.data(4 * HISTORY);
let history_count: i32 = 0; // lines ever entered; the last HISTORY are kept
let len: i32 = 0;
let cursor: i32 = 0;
let last_was_cr = false;

const BS: u8 = 0x08;
const DEL: u8 = 0x7f;
const ESC: u8 = 0x1b;
function ctrl(c: string): u8 { return <u8>(c.charCodeAt(0) & 0x1f); }

/* db_line_at: byte i of the line db_readline returned. */
export function db_line_at(i: i32): u8 {
  return load<u8>(line + <usize>i);
}

/* db_line_address: where byte i of that line is, for parsers that take addresses. */
export function db_line_address(i: i32): usize {
  return line + <usize>i;
}

function redraw(prompt: string): void {
  lock();
  putc(0x0d); puts(prompt);
  for (let i = 0; i < len; i++) putc(load<u8>(line + <usize>i));
  puts("\x1b[K");
  if (len > cursor) { puts("\x1b["); putNum(len - cursor); putc(0x44); }
  unlock();
}

function putNum(v: i32): void {
  if (v >= 10) putNum(v / 10);
  putc(0x30 + v % 10);
}

function set_line(from: usize, n: i32): void {
  memory.copy(line, from, <usize>n);
  len = n;
  cursor = n;
}

function insert(c: u8): void {
  if (len == DB_LINE_MAX) return;
  memory.copy(line + <usize>cursor + 1, line + <usize>cursor, <usize>(len - cursor));
  store<u8>(line + <usize>cursor, c);
  len++;
  cursor++;
}

/* Deletes [from, to) of the line; the cursor goes to from. */
function erase(from: i32, to: i32): void {
  if (to <= from) return;
  memory.copy(line + <usize>from, line + <usize>to, <usize>(len - to));
  len -= to - from;
  cursor = from;
}

function is_space(c: u8): bool { return c == 0x20; }

/* Whether the name commands[i, j) starts with the line's first len bytes. */
function name_matches(commands: string, i: i32, j: i32): bool {
  if (j - i < len) return false;
  for (let k = 0; k < len; k++) if (<u8>commands.charCodeAt(i + k) != load<u8>(line + <usize>k)) return false;
  return true;
}

/* The end of the name starting at i in the space-separated list. */
function name_end(commands: string, i: i32): i32 {
  while (i < commands.length && commands.charCodeAt(i) != 0x20) i++;
  return i;
}

/*
 * Completion: commands is a space-separated list of names. A unique name
 * starting with the first word (the cursor at its end) completes it, with a
 * space after; several list themselves below the line.
 */
function complete(prompt: string, commands: string): void {
  if (cursor != len) return;
  for (let i = 0; i < len; i++) if (is_space(load<u8>(line + <usize>i))) return;
  let matches = 0;
  let match_start = 0;
  let match_end = 0;
  for (let i = 0; i < commands.length; i = name_end(commands, i) + 1) {
    if (!name_matches(commands, i, name_end(commands, i))) continue;
    if (matches++ == 0) { match_start = i; match_end = name_end(commands, i); }
  }
  if (matches == 1) {
    for (let k = match_start + len; k < match_end; k++) insert(<u8>commands.charCodeAt(k));
    insert(0x20);
    redraw(prompt);
  } else if (matches > 1) {
    lock();
    puts("\n");
    for (let i = 0; i < commands.length; i = name_end(commands, i) + 1) {
      const j = name_end(commands, i);
      if (!name_matches(commands, i, j)) continue;
      for (let k = i; k < j; k++) putc(commands.charCodeAt(k));
      putc(0x20);
    }
    puts("\n");
    unlock();
    redraw(prompt);
  }
}

function history_entry(n: i32): usize {
  return history + <usize>(n % HISTORY) * <usize>DB_LINE_MAX;
}

function history_add(): void {
  if (len == 0) return;
  const n = history_count;
  if (n > 0) {
    const prev = n - 1;
    const plen = load<i32>(history_len + <usize>(prev % HISTORY) * 4);
    if (plen == len && memory.compare(history_entry(prev), line, <usize>len) == 0) return;
  }
  memory.copy(history_entry(n), line, <usize>len);
  store<i32>(history_len + <usize>(n % HISTORY) * 4, len);
  history_count++;
}

/*
 * db_readline: prints prompt, reads one edited line; returns its length
 * (the bytes through db_line_at), or -1 when ^C abandoned it.
 * Context: a thread on the BSP (sio_getc blocks).
 */
export function db_readline(prompt: string, commands: string): i32 {
  len = 0;
  cursor = 0;
  let browsing = history_count; // the history line shown; history_count: the line being typed
  lock();
  puts(prompt);
  unlock();
  while (true) {
    let c = sio_getc();
    if (c == 0x0a && last_was_cr) { last_was_cr = false; continue; }
    last_was_cr = c == 0x0d;
    if (c == 0x0d || c == 0x0a) {
      lock(); puts("\n"); unlock();
      history_add();
      return len;
    }
    if (c == ESC) {
      c = sio_getc();
      if (c != 0x5b && c != 0x4f) continue; // CSI or SS3
      c = sio_getc();
      let param = 0;
      while (c >= 0x30 && c <= 0x39) { param = param * 10 + (c - 0x30); c = sio_getc(); }
      if (c == 0x41) c = ctrl("P"); // up
      else if (c == 0x42) c = ctrl("N"); // down
      else if (c == 0x43) c = ctrl("F"); // right
      else if (c == 0x44) c = ctrl("B"); // left
      else if (c == 0x48 || (c == 0x7e && (param == 1 || param == 7))) c = ctrl("A"); // Home
      else if (c == 0x46 || (c == 0x7e && (param == 4 || param == 8))) c = ctrl("E"); // End
      else if (c == 0x7e && param == 3) c = ctrl("D"); // Delete
      else continue;
    }
    if (c >= 0x20 && c < DEL) {
      const at_end = cursor == len;
      if (len == DB_LINE_MAX) continue;
      insert(c);
      if (at_end) { lock(); putc(c); unlock(); } else redraw(prompt);
      continue;
    }
    if (c == BS || c == DEL) { if (cursor > 0) { erase(cursor - 1, cursor); redraw(prompt); } continue; }
    if (c == ctrl("D")) { if (cursor < len) { erase(cursor, cursor + 1); redraw(prompt); } continue; }
    if (c == ctrl("A")) { cursor = 0; redraw(prompt); continue; }
    if (c == ctrl("E")) { cursor = len; redraw(prompt); continue; }
    if (c == ctrl("B")) { if (cursor > 0) { cursor--; redraw(prompt); } continue; }
    if (c == ctrl("F")) { if (cursor < len) { cursor++; redraw(prompt); } continue; }
    if (c == ctrl("K")) { len = cursor; redraw(prompt); continue; }
    if (c == ctrl("U")) { erase(0, cursor); redraw(prompt); continue; }
    if (c == ctrl("W")) {
      let from = cursor;
      while (from > 0 && is_space(load<u8>(line + <usize>from - 1))) from--;
      while (from > 0 && !is_space(load<u8>(line + <usize>from - 1))) from--;
      erase(from, cursor);
      redraw(prompt);
      continue;
    }
    if (c == ctrl("L")) { lock(); puts("\x1b[H\x1b[2J"); unlock(); redraw(prompt); continue; }
    if (c == ctrl("C")) { lock(); puts("^C\n"); unlock(); return -1; }
    if (c == 0x09) { complete(prompt, commands); continue; }
    if (c == ctrl("P") || c == ctrl("N")) {
      const oldest = history_count > HISTORY ? history_count - HISTORY : 0;
      const next = c == ctrl("P") ? browsing - 1 : browsing + 1;
      if (next < oldest || next > history_count) continue;
      browsing = next;
      if (browsing == history_count) set_line(line, 0);
      else set_line(history_entry(browsing), load<i32>(history_len + <usize>(browsing % HISTORY) * 4));
      redraw(prompt);
    }
  }
}

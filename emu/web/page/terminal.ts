/**
 * COM1 on an xterm.js terminal that follows its element's size.
 *
 * Output is batched: bytes collect until the next animation frame and go to
 * xterm in one write, since a guest prints a byte per UART write and a write
 * per byte would have xterm parse and schedule a render each time.
 *
 * Copy and paste: the mouse selects as in any xterm.js page. Ctrl+C copies
 * when something is selected and is ^C for the guest otherwise (as Windows
 * Terminal does); Ctrl+Shift+C always copies, where the browser does not
 * keep it for itself. Ctrl+V / Ctrl+Shift+V paste. For both, the key is
 * left to the browser, whose copy and paste events xterm.js answers on its
 * hidden textarea: that works without the async Clipboard API, so also on
 * plain http from another host. Pasted text reaches the guest through
 * onData like typed text.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

export class SerialTerminal {
  readonly term: Terminal;
  private pending: Uint8Array[] = [];
  private frame = 0;
  /** Writes handed to xterm: the test checks batching against the bytes received. */
  writes = 0;

  constructor(element: HTMLElement, input: (bytes: Uint8Array) => void) {
    this.term = new Terminal({
      // `emu boot` relies on the TTY's onlcr for guests that end lines in "\n" alone; so does this.
      convertEol: true,
      cursorBlink: true,
      scrollback: 10_000,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
    });
    const fit = new FitAddon();
    this.term.loadAddon(fit);
    this.term.open(element);
    fit.fit();
    new ResizeObserver(() => fit.fit()).observe(element);

    const utf8 = new TextEncoder();
    this.term.onData((text) => input(utf8.encode(text)));
    // Mouse reports in the X10 encoding are bytes, not text.
    this.term.onBinary((text) => input(Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff)));
    this.term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !(e.ctrlKey || e.metaKey) || e.altKey) return true;
      const key = e.key.toLowerCase();
      if (key === 'c' && (e.shiftKey || this.term.hasSelection())) return false;
      if (key === 'v') return false;
      return true;
    });
  }

  write(bytes: Uint8Array): void {
    this.pending.push(bytes);
    // In a hidden tab frames stop; the bytes wait and go in one write when it shows again.
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.flush());
  }

  /** A line of the page's own (reset, stop), set apart from guest output. */
  note(text: string): void {
    this.write(new TextEncoder().encode(`\r\n\x1b[2m[${text}]\x1b[0m\r\n`));
  }

  private flush(): void {
    this.frame = 0;
    const total = this.pending.reduce((n, b) => n + b.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const b of this.pending) { all.set(b, at); at += b.length; }
    this.pending = [];
    this.writes++;
    this.term.write(all);
  }

  /** The whole buffer as text, scrollback included (what tests read). */
  text(): string {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let y = 0; y < buf.length; y++) {
      const line = buf.getLine(y);
      if (!line) continue;
      if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += line.translateToString(true);
      else lines.push(line.translateToString(true));
    }
    return lines.join('\n');
  }
}

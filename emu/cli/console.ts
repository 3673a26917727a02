/**
 * The serial console on the terminal, as QEMU's `-serial mon:stdio` mux
 * behaves: keystrokes go to COM1 (Ctrl-C included), Ctrl-A is the escape
 * key — Ctrl-A x quits, Ctrl-A s saves the machine, Ctrl-A h lists the
 * keys, Ctrl-A Ctrl-A sends one Ctrl-A. The terminal is in raw mode only while stdin is a TTY, and is
 * restored however the emulator leaves.
 */
const CTRL_A = 0x01;

export interface ConsoleEvents {
  /** Bytes for the guest. */
  input(bytes: Uint8Array): void;
  /** Ctrl-A x. */
  quit(): void;
  /** Ctrl-A s: save the machine (the handler names the file). */
  save(): void;
  /** The host's stdin ended: no more input will ever come. */
  end(): void;
}

const HELP = [
  'C-a h    print this help',
  'C-a x    exit emulator',
  'C-a s    save the machine to a snapshot file (--save-state FILE, or emu-TIMEns.snap)',
  'C-a C-a  send C-a',
].join('\r\n');

export class Console {
  private escaped = false;
  private raw = false;
  private readonly restore = (): void => this.close();

  constructor(private readonly events: ConsoleEvents, private readonly stdin: NodeJS.ReadStream = process.stdin) {}

  open(): void {
    if (this.stdin.isTTY) {
      this.stdin.setRawMode(true);
      this.raw = true;
      process.stderr.write('emu: console on COM1; press Ctrl-A x to exit, Ctrl-A h for help\r\n');
      process.on('exit', this.restore);
    }
    this.stdin.on('data', (chunk: Buffer) => this.receive(chunk));
    this.stdin.on('end', () => this.events.end());
    this.stdin.resume();
  }

  /** Splits host bytes into guest input and escape sequences. */
  receive(chunk: Uint8Array): void {
    let start = 0;
    for (let k = 0; k < chunk.length; k++) {
      const b = chunk[k];
      if (!this.escaped) {
        if (b === CTRL_A && this.stdin.isTTY) {
          if (k > start) this.events.input(chunk.subarray(start, k));
          this.escaped = true;
          start = k + 1;
        }
        continue;
      }
      this.escaped = false;
      start = k + 1;
      switch (b) {
        case 0x78: case 0x58: this.events.quit(); return; // x
        case 0x73: case 0x53: this.events.save(); break; // s
        case 0x68: case 0x48: case 0x3f: process.stderr.write(HELP + '\r\n'); break; // h, ?
        case CTRL_A: this.events.input(Uint8Array.of(CTRL_A)); break;
        default: break;
      }
    }
    if (start < chunk.length) this.events.input(chunk.subarray(start));
  }

  close(): void {
    if (this.raw) {
      this.raw = false;
      this.stdin.setRawMode(false);
    }
    process.off('exit', this.restore);
    this.stdin.pause();
    this.stdin.removeAllListeners('data');
    this.stdin.removeAllListeners('end');
  }
}

/**
 * The terminal console of `emu boot`, through a real terminal: the built CLI
 * runs in a detached tmux pane (a pseudo-terminal, so stdin is a TTY and the
 * console goes raw), keys arrive with `send-keys` and the screen is read with
 * `capture-pane`. The guest (test/guest/echo.S) echoes COM1 input upper-cased
 * and answers Ctrl-C with "^C received".
 *
 * The steps share one emulator and run in order; each waits for its own
 * screen text, so a failure names the first step that broke.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './helpers/emu.js';

const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
// A private server: the test must never see or touch the user's sessions.
const SOCKET = `damselfly-console-test-${process.pid}`;
const SESSION = 'console';
// Generous: a loaded machine running the whole suite in parallel is slow to start node.
const DEADLINE_MS = 20_000;
const POLL_MS = 50;

// TMUX would make tmux think it is nested inside the user's session.
const tmuxEnv = { ...process.env };
delete tmuxEnv.TMUX;
delete tmuxEnv.TMUX_PANE;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { env: tmuxEnv, encoding: 'utf8' });
}

/** The pane's whole history: lines that scrolled off still count, and wrapped lines are joined. */
function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', SESSION);
}

/**
 * Polls the screen for `pattern`. A dead pane, or `gaveUp` (the emulator's exit
 * line while it should still be running), ends the wait at once instead of
 * after the deadline.
 */
async function waitFor(pattern: RegExp, gaveUp = /^Pane is dead/m): Promise<string> {
  const end = Date.now() + DEADLINE_MS;
  let text = '';
  for (;;) {
    text = screen();
    if (pattern.test(text)) return text;
    if (gaveUp.test(text)) throw new Error(`gave up waiting for ${pattern}; the screen:\n${text}`);
    if (Date.now() > end) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`no ${pattern} on the terminal within ${DEADLINE_MS / 1000} s; the screen:\n${text}`);
}
const running = (pattern: RegExp): Promise<string> => waitFor(pattern, /^status=|^Pane is dead/m);

const keys = (...k: string[]): void => { tmux('send-keys', '-t', SESSION, ...k); };
const type = (text: string): void => { tmux('send-keys', '-t', SESSION, '-l', text); };
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

let dir = '';
// Where tmux puts the private socket; the server leaves the file behind when killed.
let socketPath = path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET);

describe.skipIf(!hasTmux)(`emu boot's terminal console, under tmux${hasTmux ? '' : ' (skipped: tmux is not on PATH)'}`, () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-console-'));
    // After the emulator, the script shows what a user would notice: the exit
    // status, whether the terminal mode is exactly as before, and a line read
    // in cooked mode (echoed by the terminal, delivered on Enter).
    // The final sleep keeps the pane alive for capture-pane until afterAll.
    const script = [
      'before=$(stty -g)',
      `${quote(process.execPath)} bin/emu.mjs boot -kernel test/guest/bin/echo.elf`,
      'echo "status=$?"',
      'if [ "$(stty -g)" = "$before" ]; then echo "tty: restored"; else echo "tty: changed"; fi',
      'stty -a',
      'printf "cooked> "',
      'IFS= read -r line',
      'echo "read: [$line]"',
      'exec sleep 3600',
    ].join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'run.sh'), script);
    // remain-on-exit: if the script dies (say Ctrl-C killed it), the pane and
    // its last screen stay for the failure message instead of vanishing.
    tmux('start-server', ';', 'set-option', '-g', 'remain-on-exit', 'on', ';',
      'new-session', '-d', '-s', SESSION, '-x', '120', '-y', '30', '-c', ROOT, 'sh', path.join(dir, 'run.sh'));
    socketPath = tmux('display-message', '-p', '#{socket_path}').trim() || socketPath;
  });

  afterAll(() => {
    // Takes the pane's processes (the emulator included, if a step failed) with it.
    try { tmux('kill-server'); } catch { /* already gone */ }
    fs.rmSync(socketPath, { force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows the Ctrl-A x hint at start', async () => {
    const text = await running(/Ctrl-A x/);
    expect(text).toMatch(/emu: console on COM1; press Ctrl-A x to exit, Ctrl-A h for help/);
    await running(/echo: damselfly console echo/);
  });

  it('sends typed text to the guest, with no local echo', async () => {
    type('abc xyz');
    keys('Enter');
    const text = await running(/ABC XYZ/);
    // Raw mode: only the guest's upper-cased copy may be on the screen.
    expect(text).not.toMatch(/abc xyz/);
  });

  it('gives Ctrl-C to the guest and keeps running', async () => {
    // Had the terminal turned it into SIGINT, the script's status line would end the wait.
    keys('C-c');
    await running(/\^C received/);
    type('still alive');
    await running(/STILL ALIVE/);
  });

  it('sends one Ctrl-A for Ctrl-A Ctrl-A', async () => {
    keys('C-a', 'C-a');
    type('q');
    await running(/\^AQ/);
  });

  it('lists the keys on Ctrl-A h', async () => {
    keys('C-a', 'h');
    const text = await running(/C-a C-a\s+send C-a/);
    expect(text).toMatch(/C-a h\s+print this help/);
    expect(text).toMatch(/C-a x\s+exit emulator/);
  });

  it('quits with status 0 on Ctrl-A x', async () => {
    keys('C-a', 'x');
    await waitFor(/status=\d+/);
    expect(screen()).toMatch(/^status=0$/m);
  });

  it('leaves the terminal as it found it', async () => {
    const text = await waitFor(/cooked> /);
    expect(text).toMatch(/^tty: restored$/m);
    const settings = text.slice(text.indexOf('speed '), text.indexOf('cooked> ')).split(/\s+/);
    expect(settings).toEqual(expect.arrayContaining(['icanon', 'echo', 'isig', 'icrnl', 'opost']));
    // The shell's next read behaves as cooked: the terminal echoes and hands over the line on Enter.
    type('back to normal');
    keys('Enter');
    const after = await waitFor(/read: \[/);
    expect(after).toMatch(/cooked> back to normal\n/);
    expect(after).toMatch(/read: \[back to normal\]/);
  });
});

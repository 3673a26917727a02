/**
 * Pacer (emu/machine/pacer.ts): how long an interactive host waits before
 * the machine's virtual time is due, and how a guest that fell behind is
 * forgiven all but a bounded debt.
 */
import { describe, expect, it } from 'vitest';
import { Pacer } from '../../emu/machine/pacer.js';

describe('Pacer', () => {
  it('says how far virtual time is ahead of host time since the anchor', () => {
    let host = 1000;
    const p = new Pacer(() => host);
    p.anchor(5e9);
    expect(p.ahead(5e9)).toBe(0);
    expect(p.ahead(5e9 + 30e6)).toBe(30);
    host += 20;
    expect(p.ahead(5e9 + 30e6)).toBe(10);
    host += 10;
    expect(p.ahead(5e9 + 30e6)).toBe(0);
  });

  it('forgets all but maxBehindMs of a debt, so a busy stretch is not followed by a race', () => {
    let host = 0;
    const p = new Pacer(() => host, 50);
    p.anchor(0);
    host = 1000;
    // 1 s of host time for 100 ms of virtual time: 900 ms behind, 50 ms of it kept.
    expect(p.ahead(100e6)).toBe(0);
    expect(p.ahead(150e6)).toBe(0);
    expect(p.ahead(151e6)).toBe(1);
  });

  it('starts again from a new anchor (a resume, a reset, a loaded snapshot)', () => {
    let host = 0;
    const p = new Pacer(() => host);
    p.anchor(0);
    host = 10_000;
    p.anchor(2e9);
    expect(p.ahead(2e9 + 5e6)).toBe(5);
  });
});

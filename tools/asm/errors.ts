/** An assembly error: one line naming where and what, like `boot.s:12: unknown mnemonic 'movz'`. */
export class AsmError extends Error {
  constructor(readonly file: string, readonly line: number, readonly problem: string) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'AsmError';
  }
}

/** Where a statement came from, for error messages. */
export interface Loc { file: string; line: number }

export function fail(loc: Loc, problem: string): never {
  throw new AsmError(loc.file, loc.line, problem);
}

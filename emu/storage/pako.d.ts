/** The part of pako 2.x (which ships no type declarations) that pako-codec.ts uses. */
declare module 'pako' {
  export function deflateRaw(data: Uint8Array, options?: { level?: number }): Uint8Array;
  /** Throws (a string, not an Error) on a corrupt stream. */
  export function inflateRaw(data: Uint8Array): Uint8Array | undefined;
}

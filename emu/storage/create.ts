/** emu img create: an empty image, or an empty overlay on a parent. */
import { type Env, ImageError } from './host.js';
import { ZERO_UUID, type Header } from './format.js';
import { DflyImage } from './image.js';
import { openDisk } from './open.js';
import { replaceWith } from './rewrite.js';

export interface CreateOptions {
  size?: number;
  /** The parent, as a path from the current directory. */
  backing?: string;
  format?: 'dfly' | 'raw';
  /** Injected by tests so that images are byte-for-byte reproducible. */
  uuid?: Uint8Array;
}

export function createImage(env: Env, path: string, opts: CreateOptions): void {
  if (env.host.exists(path)) throw new ImageError(path, 'already exists (not overwritten)');
  let size = opts.size;
  const header: Header = { size: 0, uuid: opts.uuid ?? env.host.randomUUID() };
  if (opts.backing !== undefined) {
    if (opts.format === 'raw') throw new ImageError(path, 'a raw image cannot have a backing file');
    const parent = openDisk(env, opts.backing);
    try {
      size ??= parent.size;
      header.parent = {
        path: env.host.relative(path, opts.backing),
        uuid: parent instanceof DflyImage ? parent.uuid : ZERO_UUID,
      };
    } finally {
      parent.close();
    }
  }
  if (size === undefined) throw new ImageError(path, 'no size given (and no backing file to take it from)');
  if (!(Number.isSafeInteger(size) && size > 0 && size % 512 === 0)) throw new ImageError(path, `size ${size} is not a positive multiple of 512`);
  header.size = size;
  if (opts.format === 'raw') {
    replaceWith(env, path, (tmp) => {
      const f = env.host.create(tmp);
      try { f.truncate(size); f.sync(); } finally { f.close(); }
    });
  } else {
    replaceWith(env, path, (tmp) => DflyImage.writeEmpty(env, tmp, header));
  }
}

// Byte counts as a browser would download them: raw, gzip (level 9) and brotli (quality 11, the
// largest standard window). Node's own zlib only, so `scripts/size-check` needs no npm install.
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

export function gzipSize(bytes) {
  return gzipSync(bytes, { level: 9 }).length;
}

export function brotliSize(bytes, { text = false } = {}) {
  return brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
      [constants.BROTLI_PARAM_MODE]: text ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  }).length;
}

/** `{raw, gzip, brotli}` of one file's bytes (each file is compressed on its own, as served). */
export function sizes(bytes, { text = false } = {}) {
  return { raw: bytes.length, gzip: gzipSize(bytes), brotli: brotliSize(bytes, { text }) };
}

/** Sums `{raw, gzip, brotli}` records. */
export function sum(...records) {
  return records.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli }), {
    raw: 0,
    gzip: 0,
    brotli: 0,
  });
}

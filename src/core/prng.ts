/**
 * The one deterministic PRNG (mulberry32, Tommy Ettinger's public-domain generator): the image
 * builders and the emulator's initial firmware fill bytes from it, so the same seed gives the same
 * image everywhere. Not for secrets.
 */

/** A generator of uint32 values (0 … 2^32 − 1) from a 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same sequence scaled to [0, 1), like Math.random(). */
export function prngUnit(seed: number): () => number {
  const next = prng(seed);
  return () => next() / 4294967296;
}

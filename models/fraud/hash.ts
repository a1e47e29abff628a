/**
 * A 32-bit string hash for the bounded novelty sets in the card state: storing 4-byte hashes
 * instead of the strings keeps a card's state small and fixed-size.
 */

/**
 * FNV-1a over UTF-16 code units, never 0 (0 marks an empty slot in a set). Two distinct values
 * collide with probability ~2^-32, negligible for sets of 32 entries.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h >>>= 0;
  return h === 0 ? 1 : h;
}

/**
 * A second 32-bit string hash, independent of {@link hash32} (multiplicative, over UTF-16 code
 * units): with both, ids are told apart by 64 bits (the prediction store), or a Bloom filter
 * derives its probes from two hashes (unscored-transactions.ts).
 */
export function hash32b(text: string): number {
  let h = 0x9e3779b9 ^ text.length;
  for (let i = 0; i < text.length; i++)
    h = Math.imul(h + text.charCodeAt(i), 0x85ebca6b) ^ (h >>> 13);
  return (h ^ (h >>> 16)) >>> 0;
}

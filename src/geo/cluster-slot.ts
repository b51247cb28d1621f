/** Redis Cluster's key space: every key hashes to one of these slots. */
export const CLUSTER_SLOTS = 16_384;

const table = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  table[byte] = crc;
}

/**
 * The slot of a key, as Redis Cluster computes it: CRC16 (XMODEM) of the
 * key, or of its hash tag (the text between the first `{` and the next `}`,
 * when not empty), modulo 16384. The index uses it to know which master a
 * cell lives on, so a dead master takes only its own cells out of service.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  const bytes = Buffer.from(hashed, 'utf8');
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ table[((crc >> 8) ^ byte) & 0xff]!;
  return crc % CLUSTER_SLOTS;
}

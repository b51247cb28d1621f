import { z } from 'zod';
import { epochMs, latitude, longitude, num } from './fields.ts';

// Driver to hub. Client messages are strict: an unknown field (a typo,
// `__proto__`, `constructor`) is refused, never silently dropped.

export const locationFrameSchema = z.strictObject({
  t: z.literal('loc'),
  seq: num().int().min(1).max(Number.MAX_SAFE_INTEGER),
  lat: latitude(),
  lng: longitude(),
  ts: epochMs().optional(),
  heading: num().min(0).max(360).optional(),
  speed: num().min(0).max(150).optional(),
  accuracy: num().min(0).max(100_000).optional(),
});

export const statusFrameSchema = z.strictObject({
  t: z.literal('status'),
  status: z.enum(['online', 'offline']),
});

export type LocationFrame = z.infer<typeof locationFrameSchema>;
export type StatusFrame = z.infer<typeof statusFrameSchema>;

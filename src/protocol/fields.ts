import { z } from 'zod';

/**
 * Field schemas shared by every message. z.number() already rejects NaN and
 * ±Infinity; the explicit bounds give out_of_range. -0 never comes from an
 * honest client (JSON and msgpackr both send 0), so it is refused as a crafted value.
 */
export const num = () => z.number().refine((value) => !Object.is(value, -0), 'negative zero is not a valid value');
export const latitude = () => num().min(-90).max(90);
export const longitude = () => num().min(-180).max(180);
/** Epoch milliseconds between 2000-01-01 and 2100-01-01: anything else is a broken device clock. */
export const epochMs = () => num().int().min(946_684_800_000).max(4_102_444_800_000);
/** A client-chosen request id, echoed in the reply: a short string or an integer. */
export const requestId = () => z.union([z.string().max(64), num().int()], { error: 'expected a string of at most 64 characters or an integer' });
export type RequestId = z.infer<ReturnType<typeof requestId>>;

import { expect } from 'vitest';

// Vitest types its asymmetric matchers as `any`, which switches type checking
// off for the whole object literal a matcher sits in. These hand the same
// matchers back as `unknown`, which toEqual and toMatchObject accept as is.

export const anyString = (): unknown => expect.any(String);
export const anyNumber = (): unknown => expect.any(Number);
export const stringMatching = (pattern: RegExp): unknown => expect.stringMatching(pattern);
export const objectContaining = (shape: Record<string, unknown>): unknown => expect.objectContaining(shape);

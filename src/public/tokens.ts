// The public entry for issuing tokens outside the server: the simulator's
// and the benchmark's clients sign their own, as `npm run token` does.
export { signToken, type SignOptions, type TokenRole } from '../auth/tokens.ts';

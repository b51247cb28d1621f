export * from './codec.ts';
export * from './errors.ts';
export * from './geo-math.ts';
export * from './limits.ts';
export * from './messages.ts';
export * from './parse.ts';
export * from './handshake.ts';

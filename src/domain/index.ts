// Plain types and maths shared by store, seed, protocol and the services. Imports nothing.
export * from './driver.ts';
export * from './geo.ts';
export * from './identity.ts';
export * from './random.ts';

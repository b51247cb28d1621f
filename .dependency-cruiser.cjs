// Import boundaries: the "May import" column of docs/architecture.md, checked
// by `npm run lint:deps` so that nobody has to remember it. Each rule says
// which room it guards and why. Tests (test/) may import anything.

/** The interfaces a domain service may depend on; everything else in store/geo/bus is an adapter. */
const ADAPTER_INTERFACES = '^src/(store/(types|ride-store)|geo/types|bus/types)[.]ts$';
/** The domain services: they decide, adapters do the I/O. */
const DOMAIN_SERVICES = '^src/(ingest|nearby|dispatch|subscriptions|sync)/';
/** Code outside the server that talks to it as any client would. */
const OUTSIDE_CODE = '^(clients|bench|tools|web-demo)/';
/** What outside code may take from src/: the wire contract, plain domain types, and the public entry points. */
const PUBLIC_SERVER = '^src/(protocol/|domain/|public/|hub[.]ts$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-nothing',
      comment:
        'src/domain is plain types and maths that every room shares (protocol, store, seed, clients, the browser demo): ' +
        'one import from it drags that dependency into all of them.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'protocol-imports-only-its-libraries',
      comment:
        'src/protocol is the one wire contract, loaded by the hub, the clients, k6 types and the browser demo: ' +
        'it may use zod, msgpackr and src/domain, and nothing of the server.',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { pathNot: ['^src/protocol/', '^src/domain/', '^node_modules/(zod|msgpackr)/'] },
    },
    {
      name: 'domain-services-use-interfaces',
      comment:
        'ingest, nearby, dispatch, subscriptions and sync reach stores, indexes and buses only through their interfaces ' +
        '(store/types, store/ride-store, geo/types, bus/types), so they run unchanged on PostgreSQL or PGlite, Redis or memory, ' +
        'one process or many, and unit tests hand them fakes.',
      severity: 'error',
      from: { path: DOMAIN_SERVICES },
      to: { path: '^src/(store|geo|bus)/', pathNot: ADAPTER_INTERFACES },
    },
    {
      name: 'domain-services-not-to-transport-or-app',
      comment:
        'The transport calls the services, never the other way round (they push through the Delivery interface), ' +
        'and the composition root is built on top of them.',
      severity: 'error',
      from: { path: DOMAIN_SERVICES },
      to: { path: '^src/(transport|app)/' },
    },
    {
      name: 'domain-services-not-to-io-libraries',
      comment: 'A service that imports a driver is an adapter in disguise: the I/O libraries belong to the adapters.',
      severity: 'error',
      from: { path: DOMAIN_SERVICES },
      to: { path: '^node_modules/(redis|@redis/[^/]+|pg|drizzle-orm|@electric-sql/pglite|uWebSockets[.]js)/' },
    },
    {
      name: 'uws-only-in-transport',
      comment:
        'uWebSockets.js has sharp rules (copy buffers before await, onAborted, cork, never touch a closed socket) ' +
        'that only src/transport is written to keep.',
      severity: 'error',
      from: { pathNot: ['^src/transport/', '^test/'] },
      to: { path: '^node_modules/uWebSockets[.]js/' },
    },
    {
      name: 'redis-client-only-in-geo-and-bus',
      comment:
        'In the server, Redis is the geo index (src/geo) and the cross-process bus (src/bus); anywhere else it would be a ' +
        'second, unsupervised connection. Outside src/ the benchmark, the test kit and scripts talk to Redis directly on purpose.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(geo|bus)/' },
      to: { path: '^node_modules/(redis|@redis/[^/]+)/' },
    },
    {
      name: 'sql-libraries-only-in-store',
      comment:
        'In the server, pg, drizzle and PGlite live behind src/store, so both engines answer the same Store interface. ' +
        'drizzle.config.ts (drizzle-kit) and, outside src/, the benchmark, the test kit and scripts use them directly on purpose.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { path: '^node_modules/(pg|pg-[^/]+|drizzle-orm|drizzle-kit|@electric-sql/pglite)/' },
    },
    {
      name: 'nothing-imports-the-composition-root',
      comment:
        'src/app wires everything together; importing it from anywhere but src/hub.ts (its public face) or the process entry ' +
        'would make a cycle of the whole hub or start a second one. Tests and scripts use src/hub.ts.',
      severity: 'error',
      from: { pathNot: ['^src/app/', '^src/hub[.]ts$', '^src/main[.]ts$', '^test/'] },
      to: { path: '^src/app/' },
    },
    {
      name: 'outside-code-uses-public-entries',
      comment:
        'clients/, bench/, tools/ and the web demo use the hub as outsiders do: src/protocol, src/domain and the public ' +
        'entry points (src/hub.ts, src/public/*). Reaching into internals would tie them to code that may change under them.',
      severity: 'error',
      from: { path: OUTSIDE_CODE },
      to: { path: '^src/', pathNot: PUBLIC_SERVER },
    },
    {
      name: 'server-not-to-tools-or-bench',
      comment: 'The test kit and the benchmark are built on the server, not part of it: the hub must run without them.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tools|bench|test)/' },
    },
    {
      name: 'server-not-to-clients',
      comment:
        'The server does not depend on client code, with one named exception: the demo fleet that `npm start` runs ' +
        'in process on an embedded database (src/launch/embedded-fleet.ts) is the simulator.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/launch/embedded-fleet[.]ts$' },
      to: { path: '^clients/' },
    },
    {
      name: 'no-cycles',
      comment: 'A cycle makes load order matter and hides which part is built on which; build later parts on earlier ones.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};

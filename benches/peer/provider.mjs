// Peer for the side-by-side load benchmark: stock node `oidc-provider`, configured as close
// to Warden's bench setup as it allows (see benches/load.rs). Not shipped.
//
//   PEER_PORT=8081 node benches/peer/provider.mjs            # JWT (ES256) access tokens
//   PEER_PORT=8081 PEER_TOKEN_FORMAT=opaque node ...          # opaque ones, introspectable
//
// stdout carries exactly one JSON line (endpoints, client secrets, version) once listening;
// anything the library has to say goes to stderr. SIGTERM/SIGINT close the server and exit 0.
//
// oidc-provider refuses to introspect or revoke JWT access tokens (a hard-coded
// `rejectStructuredTokens` step answers 400 unsupported_token_type), so its introspection
// can only be measured on opaque tokens: hence PEER_TOKEN_FORMAT.

import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const port = Number(process.env.PEER_PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('PEER_PORT (1-65535) is required');
  process.exit(2);
}
const format = process.env.PEER_TOKEN_FORMAT ?? 'jwt';
if (format !== 'jwt' && format !== 'opaque') {
  console.error('PEER_TOKEN_FORMAT must be jwt or opaque');
  process.exit(2);
}

// PEER_WORKERS (default 1): node:cluster workers sharing the port, like Warden's worker
// threads. Only for JWT tokens, which need no shared state; opaque tokens live in one
// process's memory, so that mode always runs one process.
const workers = format === 'jwt' ? Number(process.env.PEER_WORKERS ?? 1) : 1;
if (!Number.isInteger(workers) || workers < 1 || workers > 16) {
  console.error('PEER_WORKERS must be 1-16');
  process.exit(2);
}

// Koa reads NODE_ENV when the provider builds its app: production keeps error bodies terse.
process.env.NODE_ENV = 'production';

// The library prints informational notices with console.info, i.e. on stdout; keep stdout
// for our one JSON line.
console.info = console.error;

// oidc-provider 9 wants Node 22 LTS and says so once at import ("Unsupported runtime") on
// Node 20, where it runs fine for these endpoints. Drop that one line only.
const warn = console.warn;
console.warn = (...args) => {
  if (!String(args[0]).includes('Unsupported runtime')) warn(...args);
};
const { default: Provider, errors } = await import('oidc-provider');
console.warn = warn;

const version = JSON.parse(
  readFileSync(new URL('./node_modules/oidc-provider/package.json', import.meta.url)),
).version;

const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'https://mcp.bench.example';
const SCOPE = 'mcp:read mcp:write';
const TTL = 300;

const secret = () => randomBytes(32).toString('base64url');
// A fresh ES256 key and client secrets per run, like a fresh Warden data dir; cluster
// workers get the primary's through the environment.
const shared = process.env.PEER_SHARED
  ? JSON.parse(process.env.PEER_SHARED)
  : (() => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return {
        jwk: { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'ES256', use: 'sig' },
        agent: { id: 'agent', secret: secret() },
        rs: { id: 'rs', secret: secret() },
        cookie: secret(),
      };
    })();
const { jwk, agent, rs } = shared;
const client = ({ id, secret: client_secret }) => ({
  client_id: id,
  client_secret,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: SCOPE,
});

// Which resources a client serves, as `warden client create --serves`: introspection is
// only answered for tokens whose audience the caller serves (Warden's rule).
const SERVES = new Map([[rs.id, new Set([RESOURCE])]]);

// Storage is in memory and nothing touches disk, which favours the peer (Warden writes to
// SQLite/Postgres). Not the bundled MemoryAdapter though: that one is an LRU keeping only
// the last 1000-2000 entries, so tokens minted before a token-endpoint run would be evicted
// during it and later introspect as inactive. This is a plain Map honouring each TTL.
// (In JWT mode client_credentials tokens are stateless: nothing is stored at all.)
const store = new Map();
class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
  }
  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) { store.delete(this.key(id)); return undefined; }
    return entry.payload;
  }
  async findByUid() { return undefined; } // sessions: unused by these grants
  async findByUserCode() { return undefined; } // device flow: disabled
  async consume(id) { const p = await this.find(id); if (p) p.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId() {} // client_credentials tokens carry no grant
}
// Expired entries would otherwise stay until looked up; sweep them so memory stays flat.
setInterval(() => {
  const now = Date.now();
  for (const [k, v] of store) if (v.expires <= now) store.delete(k);
}, 10_000).unref();

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [client(agent), client(rs)],
  jwks: { keys: [jwk] },
  scopes: SCOPE.split(' '),
  // Warden signs only with ES256; no RSA key exists, so nothing may default to RS256.
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
  cookies: { keys: [shared.cookie] },
  ttl: { ClientCredentials: TTL, AccessToken: TTL },
  clientBasedCORS: () => false,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, caller, token) => {
        const aud = [].concat(token.aud ?? []);
        return aud.length > 0 && aud.every((a) => SERVES.get(caller.clientId)?.has(a));
      },
    },
    revocation: {
      enabled: true,
      allowedPolicy: async (ctx, caller, token) => token.clientId === caller.clientId,
    },
    resourceIndicators: {
      enabled: true,
      // The agent is allowed one resource, so a request naming none gets a token for it.
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: SCOPE,
          audience: RESOURCE,
          accessTokenTTL: TTL,
          accessTokenFormat: format,
          ...(format === 'jwt' ? { jwt: { sign: { alg: 'ES256' } } } : {}),
        };
      },
    },
  },
});
// Plain HTTP on loopback, no reverse proxy: nothing to trust in X-Forwarded-*.
provider.proxy = false;

const ready = () => {
  process.stdout.write(`${JSON.stringify({
    issuer,
    // /.well-known/oauth-authorization-server (Warden's path) serves the same document.
    metadata: `${issuer}/.well-known/openid-configuration`,
    jwks: provider.urlFor('jwks'),
    token: provider.urlFor('token'),
    introspection: provider.urlFor('introspection'),
    resource: RESOURCE,
    agent,
    rs,
    version,
    token_format: format,
    workers,
  })}\n`);
};

if (workers > 1 && cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i += 1) {
    cluster.fork({ ...process.env, PEER_SHARED: JSON.stringify(shared) });
  }
  cluster.on('listening', () => {
    listening += 1;
    if (listening === workers) ready();
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} else {
  const server = createServer(provider.callback());
  server.listen(port, '127.0.0.1', () => {
    if (workers === 1) ready();
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// Smoke load against the peer, a rough look only: the real side-by-side driver is in Rust.
// Starts provider.mjs twice (JWT, then opaque tokens, the only ones it will introspect)
// and runs each scenario with CONNECTIONS keep-alive loops for SECONDS, checking every
// response's status and body prefix. Prints a markdown table like benches/load.rs.
//
//   node benches/peer/smoke-load.mjs            # SMOKE_SECONDS=5 SMOKE_CONNECTIONS=32
//
// The load generator is Node too and shares the machine's cores with the peer, so these
// numbers understate it.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';

const SECONDS = Number(process.env.SMOKE_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.SMOKE_CONNECTIONS ?? 32);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

function request(url, { method = 'GET', auth, form } = {}) {
  return new Promise((resolve) => {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers = {};
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.id}:${auth.secret}`).toString('base64')}`;
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(body);
  });
}

async function scenario(name, send, prefix) {
  let stop = false;
  const latencies = [];
  let errors = 0;
  const started = performance.now();
  const loop = async (i) => {
    for (let n = 0; !stop; n += 1) {
      const t = performance.now();
      const r = await send(i * 1_000_000 + n);
      latencies.push(performance.now() - t);
      if (r.status !== 200 || !r.body.startsWith(prefix)) errors += 1;
    }
  };
  const loops = Array.from({ length: CONNECTIONS }, (_, i) => loop(i));
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  stop = true;
  await Promise.all(loops);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(Math.floor(latencies.length * p), latencies.length - 1)] ?? 0;
  return { name, rps: latencies.length / seconds, p50: pct(0.5), p99: pct(0.99), errors };
}

async function startPeer(format) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, [new URL('./provider.mjs', import.meta.url).pathname], {
    env: { ...process.env, PEER_PORT: String(port), PEER_TOKEN_FORMAT: format },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line').then(([l]) => l),
    once(child, 'exit').then(() => { throw new Error('peer exited before printing its JSON line'); }),
  ]);
  return { child, peer: JSON.parse(line) };
}

const peakRssMiB = (pid) => {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};

async function stopPeer(child) {
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  child.kill('SIGTERM');
  const { code, signal } = await exited;
  if (code !== 0) console.error(`peer exited with ${code ?? signal}`);
}

const results = [];
let version;
for (const format of ['jwt', 'opaque']) {
  const { child, peer } = await startPeer(format);
  version = peer.version;
  const cc = { method: 'POST', auth: peer.agent, form: { grant_type: 'client_credentials' } };
  const ccPrefix = format === 'jwt' ? '{"access_token":"ey' : '{"access_token":"';

  // Minted before the token run, as the Rust driver does: they must survive it.
  const tokens = [];
  for (let i = 0; i < 64; i += 1) tokens.push(JSON.parse((await request(peer.token, cc)).body).access_token);

  if (format === 'jwt') {
    results.push(await scenario('metadata', () => request(peer.metadata), '{"'));
    results.push(await scenario('jwks', () => request(peer.jwks), '{"keys"'));
  }
  results.push(await scenario(`client_credentials (${format === 'jwt' ? 'JWT ES256' : 'opaque'})`, () => request(peer.token, cc), ccPrefix));
  if (format === 'opaque') {
    results.push(await scenario('introspection (opaque)', (n) => request(peer.introspection, {
      method: 'POST', auth: peer.rs, form: { token: tokens[n % tokens.length] },
    }), '{"active":true'));
  }
  results.at(-1).rss = peakRssMiB(child.pid);
  await stopPeer(child);
}

console.log(`\n### oidc-provider ${version} (${CONNECTIONS} connections, ${SECONDS} s per scenario)\n`);
console.log('| scenario | requests/s | p50 | p99 | errors |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const o of results) {
  console.log(`| ${o.name} | ${o.rps.toFixed(0)} | ${o.p50.toFixed(2)} ms | ${o.p99.toFixed(2)} ms | ${o.errors} |`);
}
console.log(`\npeak RSS: ${results.filter((o) => o.rss).map((o) => `${o.rss.toFixed(0)} MiB`).join(', ')} (JWT peer, opaque peer)`);
agent.destroy();

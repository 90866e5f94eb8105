#!/usr/bin/env node
// Runs the MCP conformance suite's authorization-server mode against Warden and plays the user
// for its interactive authorization-code scenario.
//
//   node conformance.mjs --issuer URL --client-id ID --port N [--username U --password P] [--out DIR] [--log FILE]
//
// The client must be pre-registered (public) with redirect URI http://127.0.0.1:N/callback. The
// conformance CLI (@modelcontextprotocol/conformance 0.2.0-alpha.x) needs Node 22, which the
// `node` npm package in this directory supplies. It sends no scope and no resource.
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBrowser } from './browser.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? dflt : argv[i + 1];
};
const issuer = opt('issuer');
const clientId = opt('client-id');
const port = opt('port');
const out = opt('out');
const logFile = opt('log');
const httpLog = [];
const log = e => {
    httpLog.push(e);
    if (logFile) appendFileSync(logFile, JSON.stringify({ client: 'conformance', ...e }) + '\n');
};

const node22 = join(HERE, 'node_modules', 'node', 'bin', 'node');
const cli = join(HERE, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const args = [cli, 'authorization', '--url', issuer, '--client-id', clientId, '--port', port];
if (out) args.push('-o', out);
const child = spawn(existsSync(node22) ? node22 : 'node', args, { stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
let browserRun;
const callback = `http://127.0.0.1:${port}/callback`;
const browser = await openBrowser({ log });
const onData = chunk => {
    output += chunk;
    process.stderr.write(chunk);
    const m = /^(http:\/\/\S+\/authorize\?\S+)$/m.exec(output);
    if (m && !browserRun) {
        // The CLI starts its callback server right after printing the URL; the browser's first
        // page loads are slower than that.
        browserRun = browser.authorize(m[1], { callback, username: opt('username', 'alice'), password: opt('password') });
    }
};
child.stdout.on('data', onData);
child.stderr.on('data', onData);
const code = await new Promise(r => child.on('exit', r));
let browserResult, browserError;
try {
    browserResult = browserRun ? await browserRun : undefined;
} catch (e) {
    browserError = e.message;
}
await browser.close();

const checks = [];
if (out && existsSync(out)) {
    for (const d of readdirSync(out)) {
        const f = join(out, d, 'checks.json');
        if (existsSync(f)) for (const c of JSON.parse(readFileSync(f, 'utf8'))) checks.push(`${c.status} ${c.id}: ${c.description ?? ''}${c.errorMessage ? ` — ${c.errorMessage}` : ''}`);
    }
}
const summary = /Total: (\d+) passed, (\d+) failed/.exec(output);
const ok = code === 0 && !!browserResult && !browserError;
if (!ok) {
    console.error(`conformance exited ${code}${browserError ? `; browser: ${browserError}` : ''}`);
    for (const c of checks) console.error(`  ${c}`);
    for (const e of httpLog) console.error(`  browser ${e.method} ${e.url} -> ${e.status}`);
}
console.log(JSON.stringify({
    client: 'conformance',
    ok,
    checks: summary ? Number(summary[1]) + Number(summary[2]) : 0,
    notes: checks.filter(c => !c.startsWith('SUCCESS')),
    pages: browserResult?.pages
}));
process.exit(ok ? 0 : 1);

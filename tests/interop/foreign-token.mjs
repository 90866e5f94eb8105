#!/usr/bin/env node
// An MCP server refuses a token Warden issued for ANOTHER resource, and accepts its own.
// Plain HTTP (no SDK client), so the answers are seen exactly as sent:
//   - no token: 401 with a Bearer challenge naming resource_metadata (the server's PRM)
//   - a client_credentials token for another resource (--foreign-*): 401 invalid_token, same challenge
//   - a client_credentials token for this resource with mcp:read (--client-*): initialize and
//     read_notes succeed; write_note is refused with 403 insufficient_scope naming mcp:write
//
//   node foreign-token.mjs --mcp URL --issuer URL --prm URL \
//       --foreign-resource URI --foreign-client-id ID --foreign-client-secret S \
//       --client-id ID --client-secret S [--log FILE]
//
// Exit code 0 only if every check passed; the last stdout line is a JSON summary.
import { appendFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const opt = name => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
};
const mcp = opt('mcp');
const issuer = opt('issuer');
const prm = opt('prm');
const logFile = opt('log');
const tag = opt('tag') ?? 'foreign-token';
for (const required of ['mcp', 'issuer', 'prm', 'foreign-resource', 'foreign-client-id', 'foreign-client-secret', 'client-id', 'client-secret']) {
    if (!opt(required)) {
        console.error(`missing --${required}`);
        process.exit(2);
    }
}

const checks = [];
class CheckFailed extends Error {}
function check(name, ok, detail) {
    checks.push({ name, ok: !!ok });
    console.error(`${ok ? 'ok  ' : 'FAIL'} [${tag}] ${name}${detail !== undefined ? ` — ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
    if (!ok) throw new CheckFailed(name);
}
function log(entry) {
    if (logFile) appendFileSync(logFile, JSON.stringify({ client: tag, t: new Date().toISOString(), ...entry }) + '\n');
}
const claims = jwt => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

async function clientCredentials(id, secret, resource) {
    const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'mcp:read' })
    });
    const body = await response.json();
    log({ who: 'probe', method: 'POST', url: `${issuer}/token`, status: response.status, body: `grant_type=client_credentials&resource=${resource}` });
    check(`Warden issued a client_credentials token for ${resource}`, response.status === 200 && body.access_token, { status: response.status, error: body.error });
    return body.access_token;
}

let nextId = 1;
async function rpc(token, method, params, session) {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (session) headers['mcp-session-id'] = session;
    const message = method.startsWith('notifications/') ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', id: nextId++, method, params };
    const response = await fetch(mcp, { method: 'POST', headers, body: JSON.stringify(message) });
    const text = await response.text();
    const www = response.headers.get('www-authenticate') ?? undefined;
    log({ who: 'probe', method: 'POST', url: mcp, rpc: method === 'tools/call' ? `tools/call:${params.name}` : method, status: response.status, wwwAuthenticate: www, response: response.ok ? undefined : text.slice(0, 400) });
    // A JSON body, or the first `data:` line of an SSE stream.
    const data = /^data: (.*)$/m.exec(text)?.[1] ?? text;
    let json;
    try {
        json = JSON.parse(data);
    } catch {
        json = undefined;
    }
    return { status: response.status, www, json, session: response.headers.get('mcp-session-id') ?? session };
}
const initialize = token =>
    rpc(token, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'warden-interop-probe', version: '1.0.0' } });
const challengeNamesPrm = www => /^Bearer /i.test(www ?? '') && www.includes(`resource_metadata="${prm}"`);

async function main() {
    const none = await initialize(undefined);
    check('no token: 401 with a Bearer challenge naming resource_metadata', none.status === 401 && challengeNamesPrm(none.www), { status: none.status, www: none.www });

    const foreignResource = opt('foreign-resource');
    const foreign = await clientCredentials(opt('foreign-client-id'), opt('foreign-client-secret'), foreignResource);
    check('the foreign token is audience-bound to the other resource', claims(foreign).aud === foreignResource && claims(foreign).iss === issuer, claims(foreign));
    const refused = await initialize(foreign);
    check('token for another resource: 401 invalid_token with a Bearer challenge naming resource_metadata',
        refused.status === 401 && challengeNamesPrm(refused.www) && /error="invalid_token"/.test(refused.www), { status: refused.status, www: refused.www });
    const refusedCall = await rpc(foreign, 'tools/call', { name: 'read_notes', arguments: {} });
    check('token for another resource: tools/call read_notes refused too (401)', refusedCall.status === 401, { status: refusedCall.status });

    // Positive control: the same kind of token, for this resource, is accepted.
    const own = await clientCredentials(opt('client-id'), opt('client-secret'), mcp);
    const init = await initialize(own);
    check('token for this resource: initialize answered 200', init.status === 200 && init.json?.result?.protocolVersion, { status: init.status, json: init.json });
    const session = init.session;
    await rpc(own, 'notifications/initialized', undefined, session);
    const read = await rpc(own, 'tools/call', { name: 'read_notes', arguments: {} }, session);
    check('token for this resource: read_notes succeeded', read.status === 200 && read.json?.result && !read.json.result.isError, read.json);
    const write = await rpc(own, 'tools/call', { name: 'write_note', arguments: { text: 'probe' } }, session);
    check('token without mcp:write: write_note answered 403 insufficient_scope naming mcp:write and resource_metadata',
        write.status === 403 && /error="insufficient_scope"/.test(write.www ?? '') && /scope="[^"]*mcp:write/.test(write.www ?? '') && challengeNamesPrm(write.www),
        { status: write.status, www: write.www });
}

const started = Date.now();
try {
    await main();
    console.log(JSON.stringify({ client: tag, ok: true, checks: checks.length, notes: [], seconds: (Date.now() - started) / 1000 }));
} catch (e) {
    if (!(e instanceof CheckFailed)) console.error(`FAIL [${tag}] ${e.stack ?? e}`);
    console.log(JSON.stringify({ client: tag, ok: false, checks: checks.length, failed: checks.filter(c => !c.ok).map(c => c.name), error: e instanceof CheckFailed ? undefined : String(e), notes: [] }));
    process.exit(1);
}

#!/usr/bin/env node
// The official TypeScript MCP SDK client (Client + StreamableHTTPClientTransport + an
// OAuthClientProvider), unpatched, against an MCP server protected by Warden.
//
//   node ts-client.mjs --scenario S --mcp URL --issuer URL [options]
//
// Scenarios:
//   dcr-example     the SDK example client's registration metadata, as written (no application_type)
//   dcr             dynamic registration (application_type native, client_secret_post), read_notes,
//                   refresh after the access token expires, step-up to mcp:write
//   dcr-norefresh   dynamic registration without the refresh_token grant (client_secret_basic by
//                   default): the SDK's own 403 insufficient_scope step-up, no refresh token involved
//   parallel-refresh  dcr, then three tool calls in flight when the access token expires
//   cimd            the same as dcr with a Client ID Metadata Document served over https on loopback
//                   (--cimd-cert/--cimd-key; Warden must trust the certificate)
//   client-credentials  the SDK's ClientCredentialsProvider (--client-id/--client-secret)
//
// Options: --username U --password P (the Warden user), --ttl SECONDS (access-token lifetime, for
// the refresh wait), --log FILE (the HTTP log as JSON lines), --prm URL (the protected resource
// metadata the challenge must name, for an MCP server that serves its own), --no-step-up (dcr against a server
// whose challenge asks for every scope up front and that cannot answer 403 insufficient_scope,
// such as FastMCP: the first token carries mcp:read mcp:write and write_note needs no step-up).
//
// Every HTTP request the client makes (SDK fetches and the browser's page loads) is logged with
// method, URL and status; the log is printed when anything fails. Exit code 0 only if every check
// passed.
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { openBrowser } from './browser.mjs';

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? dflt : argv[i + 1];
};
const scenario = opt('scenario');
const mcpUrl = opt('mcp');
const issuer = opt('issuer');
const username = opt('username', 'alice');
const password = opt('password', process.env.WARDEN_PASSWORD);
const ttl = Number(opt('ttl', '10'));
const logFile = opt('log');
const expectedPrm = opt('prm');
const noStepUp = argv.includes('--no-step-up');
const firstScope = noStepUp ? 'mcp:read mcp:write' : 'mcp:read';
const sameScopes = (a, b) => (a ?? '').split(' ').sort().join(' ') === b.split(' ').sort().join(' ');
if (!scenario || !mcpUrl || !issuer) {
    console.error('usage: ts-client.mjs --scenario S --mcp URL --issuer URL [...]');
    process.exit(2);
}
const tag = `ts:${scenario}`;

// ---------------------------------------------------------------- HTTP log
const httpLog = [];
function log(entry) {
    const e = { t: new Date().toISOString(), ...entry };
    httpLog.push(e);
    if (logFile) appendFileSync(logFile, JSON.stringify({ client: tag, ...e }) + '\n');
}
const SECRET_PARAMS = new Set(['code', 'code_verifier', 'refresh_token', 'client_secret', 'client_assertion', 'subject_token']);
function describeBody(body) {
    if (body instanceof URLSearchParams) {
        return [...body.entries()]
            .map(([k, v]) => `${k}=${SECRET_PARAMS.has(k) ? v.slice(0, 6) + '…' : v}`)
            .join('&');
    }
    if (typeof body === 'string') return body.length > 600 ? body.slice(0, 600) + '…' : body;
    return undefined;
}
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = init.method ?? (input instanceof Request ? input.method : 'GET');
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    const entry = { who: 'sdk', method, url };
    const authz = headers.get('authorization');
    if (authz) entry.authorization = authz.replace(/^(\w+) (.{0,10}).*$/, '$1 $2…');
    const body = describeBody(init.body);
    if (body && !url.startsWith(mcpUrl)) entry.body = body;
    if (body && url.startsWith(mcpUrl)) entry.rpc = safeRpc(init.body);
    try {
        const response = await realFetch(input, init);
        entry.status = response.status;
        const www = response.headers.get('www-authenticate');
        if (www) entry.wwwAuthenticate = www;
        if (!response.ok || !url.startsWith(mcpUrl)) {
            const text = await response
                .clone()
                .text()
                .catch(() => '');
            const redacted = text.replace(/"(access_token|refresh_token|client_secret|registration_access_token|id_token)"\s*:\s*"([^"]{0,8})[^"]*"/g, '"$1":"$2…"');
            entry.response = redacted.length > 600 ? redacted.slice(0, 600) + '…' : redacted;
        }
        log(entry);
        return response;
    } catch (e) {
        entry.status = `error: ${e.message}`;
        log(entry);
        throw e;
    }
};
function safeRpc(body) {
    try {
        return [JSON.parse(body)]
            .flat()
            .map(m => (m.method === 'tools/call' ? `tools/call:${m.params?.name}` : (m.method ?? 'response')))
            .join(',');
    } catch {
        return undefined;
    }
}

// ---------------------------------------------------------------- checks
const checks = [];
const notes = [];
function check(name, ok, detail) {
    checks.push({ name, ok: !!ok, detail });
    console.error(`${ok ? 'ok  ' : 'FAIL'} [${tag}] ${name}${detail !== undefined ? ` — ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
    if (!ok) throw new CheckFailed(name);
}
function note(text) {
    notes.push(text);
    console.error(`note [${tag}] ${text}`);
}
class CheckFailed extends Error {}
const since = mark => httpLog.slice(mark);
const find = (entries, pred) => entries.find(pred);
const isWarden = e => e.url.startsWith(issuer);
const claims = jwt => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
const sleep = ms => new Promise(r => setTimeout(r, ms));

// ---------------------------------------------------------------- loopback callback
async function startCallbackServer() {
    let waiter;
    const server = createServer((req, res) => {
        const url = new URL(req.url, 'http://127.0.0.1');
        if (url.pathname !== '/callback') {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' }).end('You can close this window.');
        waiter?.(url.searchParams);
        waiter = undefined;
    });
    await new Promise(r => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${server.address().port}/callback`;
    return {
        url,
        next: () => new Promise(resolve => (waiter = resolve)),
        close: () => server.close()
    };
}

// ---------------------------------------------------------------- the host's OAuthClientProvider
class HostProvider {
    constructor({ redirectUrl, clientMetadata, clientMetadataUrl }) {
        this._redirectUrl = redirectUrl;
        this._clientMetadata = clientMetadata;
        if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl;
        this.pendingAuthorization = undefined;
        this.lastState = undefined;
    }
    get redirectUrl() {
        return this._redirectUrl;
    }
    get clientMetadata() {
        return this._clientMetadata;
    }
    state() {
        this.lastState = randomBytes(16).toString('base64url');
        return this.lastState;
    }
    clientInformation() {
        return this._clientInformation;
    }
    saveClientInformation(info) {
        this._clientInformation = info;
    }
    tokens() {
        return this._tokens;
    }
    saveTokens(tokens) {
        this._tokens = tokens;
    }
    redirectToAuthorization(url) {
        this.pendingAuthorization = url;
    }
    saveCodeVerifier(v) {
        this._codeVerifier = v;
    }
    codeVerifier() {
        if (!this._codeVerifier) throw new Error('No code verifier saved');
        return this._codeVerifier;
    }
    invalidateCredentials(scope) {
        note(`SDK invalidated credentials: ${scope}`);
        if (scope === 'all' || scope === 'client') this._clientInformation = undefined;
        if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
        if (scope === 'all' || scope === 'verifier') this._codeVerifier = undefined;
    }
}

// ---------------------------------------------------------------- interactive scenarios
async function interactive({ clientMetadata, clientMetadataUrl, cb, expectRegistration, expectRefresh, stepUpBySdk, parallelRefresh }) {
    const provider = new HostProvider({ redirectUrl: cb.url, clientMetadata, clientMetadataUrl });
    const browser = await openBrowser({ log });
    const consents = [];
    let client, transport;

    // The user's part: open the authorization URL the SDK produced, sign in, consent; the
    // browser lands on our loopback callback, which hands us the authorization response.
    async function userAuthorizes(why) {
        const url = provider.pendingAuthorization;
        provider.pendingAuthorization = undefined;
        check(`${why}: the SDK produced an authorization URL`, url);
        const q = url.searchParams;
        check(`${why}: authorization request has PKCE S256, resource and scope`,
            q.get('code_challenge_method') === 'S256' && q.get('resource') && q.get('scope'),
            `scope=${q.get('scope')} resource=${q.get('resource')}`);
        const arrived = cb.next();
        const result = await browser.authorize(url.href, { callback: cb.url, username, password });
        const params = await arrived;
        consents.push(result.consent);
        check(`${why}: authorization response has a code, our state and iss = issuer`,
            params.get('code') && params.get('state') === provider.lastState && params.get('iss') === issuer,
            { pages: result.pages, error: params.get('error') ?? undefined, iss: params.get('iss') });
        return { params, result };
    }

    async function connect() {
        for (let attempt = 0; attempt < 3; attempt++) {
            transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
            client = new Client({ name: `warden-interop-${scenario}`, version: '1.0.0' });
            try {
                await client.connect(transport);
                return;
            } catch (e) {
                if (!(e instanceof UnauthorizedError)) throw e;
                const { params } = await userAuthorizes('connect');
                await transport.finishAuth(params.get('code'));
            }
        }
        throw new Error('could not connect after 3 authorizations');
    }

    try {
        // 1. discovery, registration, authorization, token
        let mark = httpLog.length;
        await connect();
        const first = since(mark);
        check('first request to the MCP server answered 401 with resource_metadata',
            find(first, e => e.url.startsWith(mcpUrl) && e.status === 401 && /resource_metadata="/.test(e.wwwAuthenticate ?? '')));
        // The PRM is wherever the challenge points: Warden hosts it for mcp-server.mjs, FastMCP serves its own.
        const prmUrl = /resource_metadata="([^"]+)"/.exec(find(first, e => e.url.startsWith(mcpUrl) && e.status === 401)?.wwwAuthenticate ?? '')?.[1];
        check('PRM fetched from the challenge\'s resource_metadata URL (200)', prmUrl && find(first, e => e.url === prmUrl && e.status === 200), prmUrl);
        if (expectedPrm) check(`the challenge names the expected PRM ${expectedPrm}`, prmUrl === expectedPrm, prmUrl);
        // From Warden (at the issuer's origin, its path appended: RFC 8414 §3.1), not a copy an MCP server serves.
        const asMetadata = `${new URL(issuer).origin}/.well-known/oauth-authorization-server`;
        check('AS metadata fetched from Warden (200)', find(first, e => e.url.startsWith(asMetadata) && e.status === 200));
        const reg = find(first, e => isWarden(e) && e.url.endsWith('/register'));
        if (expectRegistration) check('dynamic registration answered 201', reg?.status === 201, reg);
        else check('no dynamic registration (client_id is the metadata document URL)', !reg && provider.clientInformation()?.client_id === clientMetadataUrl);
        const tok = find(first, e => isWarden(e) && e.url.endsWith('/token'));
        check('authorization_code exchange answered 200', tok?.status === 200 && /grant_type=authorization_code/.test(tok.body), tok);
        check(`consent listed ${firstScope}`, sameScopes(consents[0]?.new?.join(' '), firstScope), consents[0]);
        const at1 = provider.tokens().access_token;
        const c1 = claims(at1);
        check(`access token: iss, aud, scope ${firstScope}, client_id`, c1.iss === issuer && c1.aud === mcpUrl && sameScopes(c1.scope, firstScope) && c1.client_id === provider.clientInformation().client_id, c1);
        check('refresh token issued iff registered for it', !!provider.tokens().refresh_token === !!expectRefresh, { refresh: !!provider.tokens().refresh_token });

        // 2. a tool call
        const r1 = await client.callTool({ name: 'read_notes', arguments: {} });
        check('read_notes succeeded', !r1.isError && /first note/.test(r1.content?.[0]?.text), r1.content?.[0]?.text);

        if (parallelRefresh) {
            // Several requests in flight when the access token expires: each gets a 401 and the
            // SDK (which does not serialize refreshes) presents the same refresh token for each.
            const wait = Math.max(0, c1.exp * 1000 - Date.now()) + 1500;
            console.error(`[${tag}] waiting ${Math.round(wait / 1000)} s for the access token to expire`);
            await sleep(wait);
            mark = httpLog.length;
            const results = await Promise.allSettled([1, 2, 3].map(() => client.callTool({ name: 'read_notes', arguments: {} })));
            const steps = since(mark).filter(e => isWarden(e) && e.url.endsWith('/token')).map(e => `POST /token ${e.body.replace(/&.*/, '')} -> ${e.status} ${e.status === 200 ? '' : e.response}`);
            const outcome = results.map(r => (r.status === 'fulfilled' ? 'ok' : `${r.reason?.constructor?.name}: ${r.reason?.message}`));
            note(`parallel calls after expiry: ${outcome.join(' | ')}; token requests: ${steps.join(' | ')}`);
            // The SDK does not serialize refreshes: a call whose 401 came after the first
            // refresh landed refreshes with the new token (a normal rotation), and a call still
            // holding the old one may reach Warden after that. Its token is then two
            // generations old, which the security catalogue (case 55) requires Warden to treat
            // as reuse. Only that ordering, read off the log, excuses a failed call.
            const refreshes = since(mark).filter(e => isWarden(e) && e.url.endsWith('/token') && /grant_type=refresh_token/.test(e.body ?? ''));
            const presented = e => /refresh_token=([^&…]{6})/.exec(e.body ?? '')?.[1];
            const issued = e => /"refresh_token":"([^"…]{6})/.exec(e.response ?? '')?.[1];
            const twoGenerationsOld = e => refreshes.some(a => a.status === 200 && presented(a) === presented(e) && issued(a)
                && refreshes.some(b => b.status === 200 && presented(b) === issued(a)));
            const failedRefreshes = refreshes.filter(e => e.status !== 200);
            const excused = failedRefreshes.length > 0 && failedRefreshes.every(twoGenerationsOld);
            if (excused) note('a call presented a refresh token two generations old (its successor was already rotated by a later call): reuse by catalogue case 55, so the grant was revoked');
            check('three parallel tool calls after expiry all succeed (or fail only on a two-generations-old token)',
                results.every(r => r.status === 'fulfilled') || excused, { outcome, steps });
            await client.close();
            return;
        }

        // 3. refresh once the access token has expired
        if (expectRefresh) {
            const wait = Math.max(0, c1.exp * 1000 - Date.now()) + 1500;
            console.error(`[${tag}] waiting ${Math.round(wait / 1000)} s for the access token to expire`);
            await sleep(wait);
            mark = httpLog.length;
            const r2 = await client.callTool({ name: 'read_notes', arguments: {} });
            const refresh = since(mark);
            check('expired token answered 401 invalid_token by the MCP server',
                find(refresh, e => e.url.startsWith(mcpUrl) && e.status === 401 && /invalid_token/.test(e.wwwAuthenticate ?? '')));
            const rt = find(refresh, e => isWarden(e) && e.url.endsWith('/token'));
            check('refresh_token grant answered 200', rt?.status === 200 && /grant_type=refresh_token/.test(rt.body), rt);
            check('read_notes succeeded after refresh', !r2.isError, r2.content?.[0]?.text);
            check('a new access token', provider.tokens().access_token !== at1);
        }

        if (noStepUp) {
            // 4'. the first token already carries mcp:write
            mark = httpLog.length;
            const r3 = await client.callTool({ name: 'write_note', arguments: { text: `from ${tag}` } });
            check('write_note succeeded with the first grant', !r3.isError && /stored note/.test(r3.content?.[0]?.text), r3.content?.[0]?.text);
            check('no 403 and no new authorization', !find(since(mark), e => e.status === 403 || (isWarden(e) && e.url.includes('/authorize'))));
            await client.close();
            return;
        }

        // 4. step-up: write_note needs mcp:write
        mark = httpLog.length;
        let r3;
        try {
            r3 = await client.callTool({ name: 'write_note', arguments: { text: `from ${tag}` } });
        } catch (e) {
            if (e instanceof UnauthorizedError) {
                // The SDK answered the 403 insufficient_scope by starting a new authorization.
                check('step-up: 403 insufficient_scope with scope="mcp:read mcp:write"',
                    find(since(mark), e => e.status === 403 && /insufficient_scope/.test(e.wwwAuthenticate ?? '') && /scope="mcp:read mcp:write"/.test(e.wwwAuthenticate)));
                const { params } = await userAuthorizes('step-up');
                await transport.finishAuth(params.get('code'));
                r3 = await client.callTool({ name: 'write_note', arguments: { text: `from ${tag}` } });
            } else if (e instanceof StreamableHTTPError && e.code === 403 && /after trying upscoping/.test(e.message)) {
                // typescript-sdk#2255 (1.x): with a refresh token stored, auth() refreshes instead of
                // re-authorizing, gets the same scopes back (a refresh cannot widen them) and gives up.
                const steps = since(mark).map(e => `${e.method} ${new URL(e.url).pathname} ${e.status}`);
                check('step-up by the SDK: refresh instead of re-authorization (typescript-sdk#2255); Warden kept the scopes',
                    !stepUpBySdk && find(since(mark), e => isWarden(e) && /grant_type=refresh_token/.test(e.body ?? '') && e.status === 200), steps);
                note(`SDK step-up dead-ended (typescript-sdk#2255): ${steps.join(' | ')}. Host recovery: drop tokens, auth() with the union scope.`);
                provider.saveTokens(undefined);
                const challenge = since(mark).findLast(e => e.status === 403)?.wwwAuthenticate ?? '';
                const resourceMetadataUrl = new URL(/resource_metadata="([^"]+)"/.exec(challenge)[1]);
                const result = await auth(provider, { serverUrl: new URL(mcpUrl), scope: 'mcp:read mcp:write', resourceMetadataUrl });
                check('host-driven step-up: auth() asks for the browser', result === 'REDIRECT', result);
                const { params } = await userAuthorizes('step-up');
                await transport.finishAuth(params.get('code'));
                r3 = await client.callTool({ name: 'write_note', arguments: { text: `from ${tag}` } });
            } else throw e;
        }
        const consent = consents.at(-1);
        check('step-up consent showed mcp:write as new, mcp:read as already allowed',
            consent?.new?.join(' ') === 'mcp:write' && consent?.granted?.includes('mcp:read'), consent);
        check('write_note succeeded after step-up', !r3.isError && /stored note/.test(r3.content?.[0]?.text), r3.content?.[0]?.text);
        const c3 = claims(provider.tokens().access_token);
        check('stepped-up token carries mcp:read mcp:write', c3.scope.split(' ').sort().join(' ') === 'mcp:read mcp:write', c3.scope);

        // 5. after step-up, a refresh keeps both scopes
        if (expectRefresh) {
            const wait = Math.max(0, c3.exp * 1000 - Date.now()) + 1500;
            console.error(`[${tag}] waiting ${Math.round(wait / 1000)} s for the stepped-up token to expire`);
            await sleep(wait);
            mark = httpLog.length;
            const r4 = await client.callTool({ name: 'write_note', arguments: { text: 'after refresh' } });
            const rt = find(since(mark), e => isWarden(e) && e.url.endsWith('/token'));
            check('refresh after step-up answered 200', rt?.status === 200, rt);
            check('refreshed token keeps mcp:read mcp:write; write_note succeeded',
                !r4.isError && claims(provider.tokens().access_token).scope.split(' ').sort().join(' ') === 'mcp:read mcp:write',
                claims(provider.tokens().access_token).scope);
        }
        await client.close();
    } finally {
        await browser.close();
    }
}

// ---------------------------------------------------------------- scenarios
async function main() {
    if (scenario === 'client-credentials') {
        const provider = new ClientCredentialsProvider({
            clientId: opt('client-id'),
            clientSecret: opt('client-secret'),
            expectedIssuer: issuer,
            scope: 'mcp:read'
        });
        const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
        const client = new Client({ name: 'warden-interop-cc', version: '1.0.0' });
        await client.connect(transport);
        const tok = find(httpLog, e => isWarden(e) && e.url.endsWith('/token'));
        check('client_credentials grant answered 200 (client_secret_basic)', tok?.status === 200 && /grant_type=client_credentials/.test(tok.body) && /^Basic/.test(tok.authorization ?? ''), tok);
        const c = claims(provider.tokens().access_token);
        check('token: aud = MCP server, scope mcp:read, sub = client', c.aud === mcpUrl && c.scope === 'mcp:read' && c.sub === opt('client-id'), c);
        const r = await client.callTool({ name: 'read_notes', arguments: {} });
        check('read_notes succeeded', !r.isError, r.content?.[0]?.text);
        const mark = httpLog.length;
        try {
            await client.callTool({ name: 'write_note', arguments: { text: 'agent' } });
            check('write_note refused for a client limited to mcp:read', false);
        } catch (e) {
            check('write_note refused (403 insufficient_scope; the client may not have mcp:write)',
                e instanceof StreamableHTTPError && e.code === 403, e.message);
            const t = find(since(mark), e => isWarden(e) && e.url.endsWith('/token'));
            if (t) note(`on 403 the SDK asked for a new client_credentials token: ${t.body} -> ${t.status} ${t.response ?? ''}`);
        }
        await client.close();
        return;
    }

    const cb = await startCallbackServer();
    try {
        if (scenario === 'dcr-example') {
            // The registration metadata of the SDK's own example (src/examples/client/simpleOAuthClient.ts).
            const provider = new HostProvider({
                redirectUrl: cb.url,
                clientMetadata: {
                    client_name: 'Simple OAuth MCP Client',
                    redirect_uris: [cb.url],
                    grant_types: ['authorization_code', 'refresh_token'],
                    response_types: ['code'],
                    token_endpoint_auth_method: 'client_secret_post'
                }
            });
            const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
            const client = new Client({ name: 'warden-interop-example', version: '1.0.0' });
            let error;
            try {
                await client.connect(transport);
            } catch (e) {
                error = e;
            }
            const reg = find(httpLog, e => isWarden(e) && e.url.endsWith('/register'));
            check('the SDK example metadata (no application_type, loopback redirect) registers', reg?.status === 201,
                { request: reg?.body, status: reg?.status, response: reg?.response });
            check('the SDK then asks for the browser', error instanceof UnauthorizedError && provider.pendingAuthorization, error?.message);
            return;
        }
        const base = {
            client_name: `Warden interop (${tag})`,
            redirect_uris: [cb.url],
            response_types: ['code'],
            application_type: 'native'
        };
        if (scenario === 'dcr') {
            await interactive({
                cb,
                clientMetadata: { ...base, grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_post' },
                expectRegistration: true,
                expectRefresh: true
            });
        } else if (scenario === 'parallel-refresh') {
            await interactive({
                cb,
                clientMetadata: { ...base, grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_post' },
                expectRegistration: true,
                expectRefresh: true,
                parallelRefresh: true
            });
        } else if (scenario === 'dcr-norefresh') {
            await interactive({
                cb,
                clientMetadata: { ...base, grant_types: ['authorization_code'] },
                expectRegistration: true,
                expectRefresh: false,
                stepUpBySdk: true
            });
        } else if (scenario === 'cimd') {
            const docServer = createHttpsServer({ cert: readFileSync(opt('cimd-cert')), key: readFileSync(opt('cimd-key')) }, (req, res) => {
                log({ who: 'cimd-server', method: req.method, url: `https://127.0.0.1:${docServer.address().port}${req.url}`, status: req.url === '/client.json' ? 200 : 404, userAgent: req.headers['user-agent'] });
                if (req.url !== '/client.json') return res.writeHead(404).end();
                res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(JSON.stringify(doc));
            });
            await new Promise(r => docServer.listen(0, '127.0.0.1', r));
            const clientMetadataUrl = `https://127.0.0.1:${docServer.address().port}/client.json`;
            const doc = {
                client_id: clientMetadataUrl,
                client_name: `Warden interop (${tag})`,
                redirect_uris: [cb.url],
                grant_types: ['authorization_code', 'refresh_token'],
                response_types: ['code'],
                token_endpoint_auth_method: 'none'
            };
            try {
                await interactive({
                    cb,
                    clientMetadataUrl,
                    clientMetadata: { ...doc, client_id: undefined },
                    expectRegistration: false,
                    expectRefresh: true
                });
                check('Warden fetched the metadata document', find(httpLog, e => e.who === 'cimd-server' && e.status === 200));
            } finally {
                docServer.close();
            }
        } else {
            throw new Error(`unknown scenario ${scenario}`);
        }
    } finally {
        cb.close();
    }
}

function printLog() {
    console.error(`---- HTTP log of ${tag} (${httpLog.length} requests) ----`);
    for (const e of httpLog) {
        const extra = ['authorization', 'body', 'rpc', 'wwwAuthenticate', 'response']
            .filter(k => e[k] !== undefined && e[k] !== '')
            .map(k => `\n      ${k}: ${e[k]}`)
            .join('');
        console.error(`  ${e.t} ${e.who.padEnd(7)} ${e.method} ${e.url} -> ${e.status}${extra}`);
    }
}

const started = Date.now();
try {
    await main();
    console.log(JSON.stringify({ client: tag, ok: true, checks: checks.length, notes, seconds: (Date.now() - started) / 1000 }));
    if (process.env.INTEROP_VERBOSE) printLog();
    process.exit(0);
} catch (e) {
    if (!(e instanceof CheckFailed)) console.error(`FAIL [${tag}] ${e.stack ?? e}`);
    printLog();
    console.log(JSON.stringify({ client: tag, ok: false, checks: checks.length, failed: checks.filter(c => !c.ok).map(c => c.name), error: e instanceof CheckFailed ? undefined : String(e), notes }));
    process.exit(1);
}

#!/usr/bin/env node
// The admin console (issue 17) walked in headless Chromium against a fresh Warden with no admin:
// the one-time setup link from Warden's log, the first admin, an MCP server registered and
// checked through the console (mcp-server.mjs, started here with the metadata URL the console
// shows), a console-made client used by the TypeScript SDK's MCP client for a user's grant, that
// grant revoked on the Grants page, both events found in the Audit log, and the pages on a
// phone-sized screen.
//
//   node console-walk.mjs --issuer URL --warden-log FILE --mcp URL [options]
//
// Options: --username U --password P (the Warden user, made with the CLI, who grants access),
// --log FILE (the HTTP log as JSON lines), --screenshots DIR (PNGs of the console for
// docs/console.md, the client secret masked).
//
// Exit code 0 only if every check passed; the last line on stdout is a JSON summary.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { CHROMIUM, CHROMIUM_ARGS, openBrowser } from './browser.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const tag = 'console:walk';

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? dflt : argv[i + 1];
};
const issuer = opt('issuer');
const wardenLog = opt('warden-log');
const mcpUrl = opt('mcp');
const username = opt('username', 'alice');
const password = opt('password', process.env.WARDEN_PASSWORD);
const logFile = opt('log');
const screenshots = opt('screenshots');
if (!issuer || !wardenLog || !mcpUrl) {
    console.error('usage: console-walk.mjs --issuer URL --warden-log FILE --mcp URL [...]');
    process.exit(2);
}
const admin = { username: 'ada', password: `console-${randomBytes(9).toString('base64url')}` };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// ---------------------------------------------------------------- log and checks
const httpLog = [];
function log(entry) {
    const e = { t: new Date().toISOString(), ...entry };
    httpLog.push(e);
    if (logFile) appendFileSync(logFile, JSON.stringify({ client: tag, ...e }) + '\n');
}
const checks = [];
const notes = [];
class CheckFailed extends Error {}
function check(name, ok, detail) {
    checks.push({ name, ok: !!ok, detail });
    console.error(`${ok ? 'ok  ' : 'FAIL'} [${tag}] ${name}${detail !== undefined ? ` — ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
    if (!ok) throw new CheckFailed(name);
}
const sleep = ms => new Promise(r => setTimeout(r, ms));
const stripAnsi = s => s.replace(/\x1b\[[0-9;]*m/g, '');

async function fetchLogged(url, init = {}) {
    const response = await fetch(url, init);
    log({ who: 'walk', method: init.method ?? 'GET', url: String(url), status: response.status });
    return response;
}

// ---------------------------------------------------------------- browser helpers
function watch(page, who) {
    page.on('response', response => {
        const req = response.request();
        if (req.resourceType() === 'document') {
            log({ who, method: req.method(), url: req.url(), status: response.status() });
        }
    });
    page.on('requestfailed', req => log({ who, method: req.method(), url: req.url(), status: `failed: ${req.failure()?.errorText}` }));
    return page;
}

/** Runs `action` (a click that submits or follows a link) and returns the final document's response. */
async function navigate(page, action) {
    const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
    return response;
}

async function open(page, path) {
    return page.goto(path.startsWith('http') ? path : `${issuer}/admin${path}`, { waitUntil: 'load' });
}

const text = async locator => ((await locator.first().textContent()) ?? '').trim();
const notice = page => text(page.locator('[role="status"]'));
const detail = (page, label) => text(page.locator('.detail').filter({ has: page.locator('dt', { hasText: label }) }).locator('dd'));

/** A PNG of the viewport, or from the top of the page down to the bottom of `until` (a locator). */
async function shot(page, name, { until } = {}) {
    if (!screenshots) return;
    mkdirSync(screenshots, { recursive: true });
    const path = join(screenshots, `${name}.png`);
    if (!until) return page.screenshot({ path });
    const box = await until.boundingBox();
    const width = page.viewportSize().width;
    await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width, height: Math.ceil(box.y + box.height + 16) } });
}

/** No horizontal page overflow: tables scroll inside their .table-wrap, nothing else is wider than the screen. */
async function fitsScreen(page) {
    return page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        wide: [...document.querySelectorAll('body *')]
            .filter(el => !el.closest('.table-wrap') && el.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 3)
            .map(el => `${el.tagName.toLowerCase()}.${el.className}`)
    }));
}

// ---------------------------------------------------------------- processes started here
const children = [];
function startMcpServer(resourceMetadata) {
    const port = new URL(mcpUrl).port;
    const logPath = join(dirname(wardenLog), 'mcp-server.log');
    const child = spawn(process.execPath, [join(HERE, 'mcp-server.mjs'), '--port', port, '--issuer', issuer, '--resource-metadata', resourceMetadata, '--resource', mcpUrl], {
        stdio: ['ignore', 'pipe', 'pipe']
    });
    children.push(child);
    return new Promise((resolve, reject) => {
        let out = '';
        const onData = chunk => {
            out += chunk;
            appendFileSync(logPath, chunk);
            if (out.includes('READY')) resolve(child);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', chunk => appendFileSync(logPath, chunk));
        child.on('exit', code => reject(new Error(`mcp-server.mjs exited (${code}) before READY; see ${logPath}`)));
    });
}

// ---------------------------------------------------------------- the MCP client
async function startCallbackServer() {
    let waiter;
    const server = createServer((req, res) => {
        const url = new URL(req.url, 'http://127.0.0.1');
        if (url.pathname !== '/callback') return res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/plain' }).end('You can close this window.');
        waiter?.(url.searchParams);
        waiter = undefined;
    });
    await new Promise(r => server.listen(0, '127.0.0.1', r));
    return {
        url: `http://127.0.0.1:${server.address().port}/callback`,
        next: () => new Promise(resolve => (waiter = resolve)),
        close: () => server.close()
    };
}

/** The SDK's OAuthClientProvider for a client registered beforehand (in the console): no DCR. */
class PreRegisteredProvider {
    constructor(redirectUrl, information) {
        this._redirectUrl = redirectUrl;
        this._information = information;
    }
    get redirectUrl() {
        return this._redirectUrl;
    }
    get clientMetadata() {
        return {
            client_name: 'Team notes desktop',
            redirect_uris: [this._redirectUrl],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: this._information.token_endpoint_auth_method
        };
    }
    clientInformation() {
        return this._information;
    }
    saveClientInformation() {
        throw new Error('the SDK tried to register a client that exists');
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
        return this._codeVerifier;
    }
    // The SDK drops what Warden refused (a revoked grant's refresh token) and starts over.
    invalidateCredentials(scope) {
        if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
        if (scope === 'all' || scope === 'verifier') this._codeVerifier = undefined;
    }
}

/** The user's MCP client: signs `username` in through the browser, consents, calls read_notes. */
async function mcpClientGetsGrant(provider, cb) {
    const browser = await openBrowser({ log: e => log({ ...e, who: 'user' }) });
    try {
        let client;
        for (let attempt = 0; attempt < 2 && !client; attempt++) {
            const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
            const candidate = new Client({ name: 'warden-console-walk', version: '1.0.0' });
            try {
                await candidate.connect(transport);
                client = candidate;
            } catch (e) {
                if (!(e instanceof UnauthorizedError) || !provider.pendingAuthorization) throw e;
                const arrived = cb.next();
                const result = await browser.authorize(provider.pendingAuthorization.href, { callback: cb.url, username, password });
                provider.pendingAuthorization = undefined;
                const params = await arrived;
                check(`${username} signed in and allowed the client (${result.pages.join(' -> ')})`, params.get('code'), result.consent);
                await transport.finishAuth(params.get('code'));
            }
        }
        check('the MCP client connected with its token', client);
        const notesResult = await client.callTool({ name: 'read_notes', arguments: {} });
        check('read_notes answered', !notesResult.isError && /first note/.test(notesResult.content?.[0]?.text), notesResult.content?.[0]?.text);
        return client;
    } finally {
        await browser.close();
    }
}

/**
 * After the grant is revoked: Warden says the token is inactive and refuses the refresh token;
 * the MCP server checks JWTs itself, so the access token lasts until it expires, and then the
 * SDK's refresh fails and the client can only send the user back to the browser.
 */
async function grantIsGone({ provider, client, accessToken, refreshToken, appCreds, serverCreds }) {
    check('introspection: the token is inactive now', (await introspect(accessToken, serverCreds)).active === false);
    const refresh = await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }, appCreds);
    const body = await refresh.json();
    check('the refresh token is refused (400 invalid_grant)', refresh.status === 400 && body.error === 'invalid_grant', body);
    const wait = Math.max(0, claims(accessToken).exp * 1000 - Date.now()) + 1500;
    console.error(`[${tag}] waiting ${Math.round(wait / 1000)} s for the access token to expire`);
    await sleep(wait);
    let refused;
    try {
        await client.callTool({ name: 'read_notes', arguments: {} });
    } catch (e) {
        refused = e;
    }
    check('once it expires the MCP client cannot go on without the user (UnauthorizedError, a new authorization URL)',
        refused instanceof UnauthorizedError && provider.pendingAuthorization, String(refused));
}

const claims = jwt => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

async function tokenRequest(form, { id, secret }) {
    return fetchLogged(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` },
        body: new URLSearchParams(form)
    });
}

async function introspect(token, { id, secret }) {
    const r = await fetchLogged(`${issuer}/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` },
        body: new URLSearchParams({ token })
    });
    return r.json();
}

/**
 * Registers a confidential client at /admin/clients/new (secret_basic, the form's default) and
 * reads its id and the secret the answer shows once; with `shotName`, a screenshot with the
 * secret masked.
 */
async function registerClient(page, { name, grantTypes, redirectUris = '', resources = '', serves = '', shotName }) {
    let r = await open(page, '/clients');
    check('the Clients page opens', r.status() === 200, r.status());
    await navigate(page, () => page.getByRole('link', { name: /^Register/ }).click());
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Authentication').selectOption('client_secret_basic');
    const boxes = page.getByRole('group', { name: 'Grant types' }).getByRole('checkbox');
    for (const box of await boxes.all()) {
        const label = (await box.evaluate(el => el.closest('label')?.textContent ?? '')).trim();
        await box.setChecked(grantTypes.includes(label));
    }
    await page.getByLabel('Redirect URIs').fill(redirectUris);
    await page.getByLabel('Resources', { exact: true }).fill(resources);
    await page.getByLabel('Serves').fill(serves);
    r = await navigate(page, () => page.getByRole('button', { name: 'Register' }).click());
    if (r.status() !== 200) {
        const invalid = await page.locator('.field-invalid label, .field-invalid legend').allTextContents();
        check(`"${name}" registered`, false, { status: r.status(), invalid, error: await text(page.locator('[role="alert"]')) });
    }
    const secret = await text(page.locator('.secret-once'));
    const clientId = await detail(page, 'Client ID');
    check(`"${name}" registered: its page shows the client id and the secret once`, r.status() === 200 && clientId && secret.length >= 20, { status: r.status(), clientId });
    if (shotName) {
        await page.locator('.secret-once').evaluate(el => (el.textContent = '••••'));
        await shot(page, shotName);
    }
    r = await open(page, `/clients/${encodeURIComponent(clientId)}`);
    check(`"${name}": the secret is not shown again`, r.status() === 200 && (await page.locator('.secret-once').count()) === 0 && !(await page.content()).includes(secret));
    return { client_id: clientId, client_secret: secret };
}

/** The audit log filtered by `kind` through its form; the rows (as named columns) that `pick` keeps. */
async function auditRows(page, kind, pick) {
    const r = await open(page, '/audit');
    check('the Audit log opens', r.status() === 200, r.status());
    await page.getByLabel('Kind').selectOption(kind);
    await navigate(page, () => page.getByRole('button', { name: 'Filter' }).click());
    const headers = (await page.locator('table thead th').allTextContents()).map(h => h.trim().toLowerCase());
    const rows = [];
    for (const tr of await page.locator('table tbody tr').all()) {
        const cells = (await tr.locator('td').allTextContents()).map(t => t.trim());
        rows.push(Object.fromEntries(headers.map((h, i) => [h, cells[i] ?? ''])));
    }
    check(`the Audit log filtered by ${kind} shows only ${kind}`, rows.every(row => row.kind === kind), rows.map(row => row.kind));
    return rows.filter(pick);
}

// ---------------------------------------------------------------- the walk
async function readSetupUrl() {
    for (let i = 0; i < 50; i++) {
        const m = /setup_url=(\S+)/.exec(stripAnsi(readFileSync(wardenLog, 'utf8')));
        if (m) return m[1].replace(/^"|"$/g, '');
        await sleep(100);
    }
    return undefined;
}

async function main() {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
        const desktop = await browser.newContext({ viewport: DESKTOP });
        desktop.setDefaultTimeout(10_000);
        const page = watch(await desktop.newPage(), 'admin');

        // 1. The one-time setup link Warden logged, because no admin exists.
        const setupUrl = await readSetupUrl();
        check('Warden logged a setup link at {issuer}/admin/setup?token=…', setupUrl?.startsWith(`${issuer}/admin/setup?token=`), setupUrl);

        // 2. The first admin, made in the browser.
        let r = await open(page, setupUrl);
        check('the setup page opens (200) and asks for the first admin', r.status() === 200 && /first admin/i.test(await text(page.locator('h1'))), r.status());
        await page.getByLabel('Username').fill(admin.username);
        await page.getByLabel('Password').fill(admin.password);
        await shot(page, 'setup');
        r = await navigate(page, () => page.getByRole('button', { name: 'Create admin account' }).click());
        check('creating the admin lands on the console, signed in (/admin/resources)', r.status() === 200 && new URL(page.url()).pathname === new URL(`${issuer}/admin/resources`).pathname, page.url());
        check('the console names the admin and shows "Created."', (await text(page.locator('.console-signout'))).includes(admin.username) && (await notice(page)) === 'Created.');
        const again = await fetchLogged(setupUrl);
        check('the setup link is spent (404)', again.status === 404, again.status);

        // 3. Register the MCP server through the console.
        check('the MCP server is not registered yet', (await page.locator('table tbody tr').filter({ hasText: mcpUrl }).count()) === 0);
        await navigate(page, () => page.getByRole('link', { name: 'Register an MCP server' }).click());
        await page.getByLabel('URI').fill(mcpUrl);
        await page.getByLabel('Name', { exact: true }).fill('Team notes');
        await page.getByLabel('Description').fill('Notes the team shares with its agents.');
        await page.getByLabel('Default scopes').fill('mcp:read');
        // A scope that is not in the catalogue first: the form comes back marked, nothing lost.
        await page.getByLabel('Scopes', { exact: true }).fill('mcp:read mcp:wrte');
        r = await navigate(page, () => page.getByRole('button', { name: 'Register' }).click());
        check('a scope not in the catalogue: 422, the Scopes field marked, what was typed kept',
            r.status() === 422 && (await page.locator('.field-invalid #scopes[aria-invalid="true"]').count()) === 1 &&
                (await page.getByLabel('URI').inputValue()) === mcpUrl && (await page.getByLabel('Scopes', { exact: true }).inputValue()) === 'mcp:read mcp:wrte',
            { status: r.status(), error: await text(page.locator('[role="alert"]')) });
        await page.getByLabel('Scopes', { exact: true }).fill('mcp:read mcp:write');
        r = await navigate(page, () => page.getByRole('button', { name: 'Register' }).click());
        const resourcePage = page.url();
        check('registering answers the detail page with "Created."', r.status() === 200 && /\/admin\/resources\/[^/]+$/.test(new URL(resourcePage).pathname) && (await notice(page)) === 'Created.', resourcePage);
        const prm = await detail(page, 'Protected resource metadata');
        const www = await detail(page, 'WWW-Authenticate on 401');
        check('the detail page shows the protected resource metadata URL', prm.startsWith(`${issuer}/`), prm);
        check('the detail page shows the WWW-Authenticate line naming it', www.startsWith('Bearer ') && www.includes(`resource_metadata="${prm}"`), www);
        const prmDoc = await (await fetchLogged(prm)).json();
        check('the metadata at that URL names the resource and Warden (RFC 9728)', prmDoc.resource === mcpUrl && prmDoc.authorization_servers?.includes(issuer), prmDoc);

        // The MCP server is configured with what the page showed.
        await startMcpServer(prm);
        const unauthenticated = await fetchLogged(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        check('the MCP server challenges with the console\'s resource_metadata',
            unauthenticated.status === 401 && (unauthenticated.headers.get('www-authenticate') ?? '').includes(`resource_metadata="${prm}"`), unauthenticated.headers.get('www-authenticate'));

        r = await navigate(page, () => page.getByRole('button', { name: 'Check' }).click());
        const findings = (await page.locator('ol.findings li').allTextContents()).map(s => s.trim().replace(/\s+/g, ' '));
        const failed = findings.filter(f => f.startsWith('FAIL'));
        check('"Check" shows the findings, none failed', r.status() === 200 && findings.length >= 5 && failed.length === 0, failed.length ? failed : `${findings.length} findings`);
        const checkPanel = page.locator('.panel').filter({ has: page.getByRole('heading', { name: 'Check', exact: true }) });
        check('the page says when it was last checked', /Last check: pass/.test(await text(checkPanel)));
        await shot(page, 'resource-check', { until: checkPanel });
        await open(page, '/resources');
        check('the list shows the server', (await page.locator('table tbody tr').filter({ hasText: mcpUrl }).count()) === 1);
        await shot(page, 'resources');

        // 4. Clients, registered in the console: the team's MCP desktop app (authorization
        // code, confidential), and the MCP server's own client, which may introspect its tokens.
        const cb = await startCallbackServer();
        cleanups.push(() => cb.close());
        const app = await registerClient(page, {
            name: 'Team notes desktop',
            grantTypes: ['authorization_code', 'refresh_token'],
            redirectUris: cb.url,
            resources: mcpUrl,
            shotName: 'client-created'
        });
        const appCreds = { id: app.client_id, secret: app.client_secret };
        const server = await registerClient(page, { name: 'Team notes server', grantTypes: ['client_credentials'], resources: mcpUrl, serves: mcpUrl });
        const serverCreds = { id: server.client_id, secret: server.client_secret };

        // 5. A user's MCP client flow makes a grant.
        const provider = new PreRegisteredProvider(cb.url, { client_id: app.client_id, client_secret: app.client_secret, token_endpoint_auth_method: 'client_secret_basic' });
        const mcpClient = await mcpClientGetsGrant(provider, cb);
        cleanups.push(() => mcpClient.close());
        const accessToken = provider.tokens().access_token;
        const c = claims(accessToken);
        check('the token is for the MCP server, the console\'s client, mcp:read', c.aud === mcpUrl && c.client_id === app.client_id && c.scope === 'mcp:read', c);
        check('introspection: the token is active', (await introspect(accessToken, serverCreds)).active === true);

        // 6. The grant on the Grants page; revoked there (destructive, but the password was
        // entered minutes ago, so no re-check).
        await open(page, '/grants');
        await page.getByLabel('Client id').fill(app.client_id);
        r = await navigate(page, () => page.getByRole('button', { name: 'Filter' }).click());
        const grantRow = page.locator('table tbody tr').filter({ hasText: username }).filter({ hasText: mcpUrl });
        check(`/admin/grants lists ${username}'s grant to the MCP server for the client`, r.status() === 200 && (await grantRow.count()) === 1, await page.locator('table tbody tr').allTextContents());
        check('the grant row shows mcp:read', (await grantRow.textContent()).includes('mcp:read'));
        await shot(page, 'grants');
        r = await navigate(page, () => grantRow.getByRole('button', { name: 'Revoke' }).click());
        check('revoking answers "Revoked."', r.status() === 200 && (await notice(page)) === 'Revoked.', page.url());
        check(`${username}'s grant is gone from the live grants`, (await grantRow.count()) === 0);
        await open(page, `/grants?client=${encodeURIComponent(app.client_id)}&status=revoked`);
        check('and listed as revoked', (await grantRow.count()) === 1 && /revoked/.test(await grantRow.textContent()));
        await grantIsGone({ provider, client: mcpClient, accessToken, refreshToken: provider.tokens().refresh_token, appCreds, serverCreds });

        // 7. Both in the audit log: the consent (by the user) and the revocation (by the admin).
        const adminId = await auditRows(page, 'signin.succeeded', row => row.details.includes('admin setup')).then(rows => rows[0]?.subject);
        check('the audit log has the admin\'s first sign-in, through the setup link', adminId, adminId);
        const consents = await auditRows(page, 'consent.given', row => row.client === app.client_id);
        check(`audit: consent.given by ${username} for the client and the MCP server`,
            consents.length === 1 && consents[0].actor === `user:${c.sub}` && consents[0].subject === c.sub && consents[0].resource === mcpUrl, consents);
        const revocations = await auditRows(page, 'grant.revoked', row => row.client === app.client_id);
        check('audit: grant.revoked with the admin as the actor', revocations.length === 1 && revocations[0].actor === `user:${adminId}` && revocations[0].subject === c.sub, revocations);
        await open(page, `/audit?client=${encodeURIComponent(app.client_id)}`);
        await shot(page, 'audit');

        // A user who is not an admin is refused the console (403), after signing in.
        const userContext = await browser.newContext({ viewport: DESKTOP });
        const userPage = watch(await userContext.newPage(), 'user');
        r = await open(userPage, '');
        check(`/admin asks ${username} to sign in`, new URL(userPage.url()).pathname.endsWith('/login'), userPage.url());
        await userPage.getByLabel('Username').fill(username);
        await userPage.getByLabel('Password').fill(password);
        r = await navigate(userPage, () => userPage.getByRole('button', { name: 'Sign in' }).click());
        check(`${username}, not an admin, gets 403 from /admin`, r.status() === 403, `${r.status()} ${userPage.url()}`);
        await userContext.close();

        // 8. A phone-sized screen, same session.
        const phone = await browser.newContext({ viewport: PHONE, storageState: await desktop.storageState() });
        const small = watch(await phone.newPage(), 'admin-phone');
        const resourcePath = new URL(resourcePage).pathname.replace(/^.*\/admin/, '');
        for (const path of ['/resources', resourcePath, '/scopes', '/clients', `/clients/${encodeURIComponent(app.client_id)}`, '/users', '/grants', '/providers', '/exchange', '/keys', '/audit']) {
            r = await open(small, path);
            const fit = await fitsScreen(small);
            check(`${path} fits a 390 px screen (no horizontal page scroll)`, r.status() === 200 && fit.scrollWidth <= fit.innerWidth, fit);
        }
        await open(small, resourcePath);
        await shot(small, 'phone');
        await phone.close();
    } finally {
        await browser.close();
    }
}

function printLog() {
    console.error(`---- HTTP log of ${tag} (${httpLog.length} requests) ----`);
    for (const e of httpLog) console.error(`  ${e.t} ${e.who.padEnd(11)} ${e.method} ${e.url} -> ${e.status}`);
}

const started = Date.now();
let exitCode = 0;
const cleanups = [];
try {
    await main();
    console.log(JSON.stringify({ client: tag, ok: true, checks: checks.length, notes, seconds: (Date.now() - started) / 1000 }));
    if (process.env.INTEROP_VERBOSE) printLog();
} catch (e) {
    if (!(e instanceof CheckFailed)) console.error(`FAIL [${tag}] ${e.stack ?? e}`);
    printLog();
    console.log(JSON.stringify({ client: tag, ok: false, checks: checks.length, failed: checks.filter(c => !c.ok).map(c => c.name), error: e instanceof CheckFailed ? undefined : String(e), notes }));
    exitCode = 1;
} finally {
    for (const f of cleanups.reverse()) await Promise.resolve().then(f).catch(() => {});
    for (const child of children) child.kill();
}
process.exit(exitCode);

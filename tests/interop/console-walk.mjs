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
// docs/console.md, the client secret masked), --warden BIN (the warden CLI, run with this
// process's environment, for the resource server's introspection client).
//
// Exit code 0 only if every check passed; the last line on stdout is a JSON summary.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS } from './browser.mjs';

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
const wardenBin = opt('warden');
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
function note(text) {
    notes.push(text);
    console.error(`note [${tag}] ${text}`);
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
        await page.getByLabel('Scopes', { exact: true }).fill('mcp:read mcp:write');
        await page.getByLabel('Default scopes').fill('mcp:read');
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

        // 8. A phone-sized screen, same session.
        const phone = await browser.newContext({ viewport: PHONE, storageState: await desktop.storageState() });
        const small = watch(await phone.newPage(), 'admin-phone');
        for (const path of ['/resources', new URL(resourcePage).pathname.replace(/^.*\/admin/, '')]) {
            r = await open(small, path);
            const fit = await fitsScreen(small);
            check(`${path} fits a 390 px screen (no horizontal page scroll)`, r.status() === 200 && fit.scrollWidth <= fit.innerWidth, fit);
        }
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
    for (const child of children) child.kill();
}
process.exit(exitCode);

#!/usr/bin/env node
// The user's browser: headless Chromium driven by playwright-core through Warden's sign-in and
// consent pages, until the authorization response reaches the client's callback.
//
// Library use (ts-client.mjs):  const b = await openBrowser(); await b.authorize(url, opts); await b.close();
// Command line (python/client.py):
//   node browser.mjs URL --callback PREFIX [--username U --password P] [--deny]
// prints one JSON line {callback, pages, consent} on stdout; the browser's requests go to stderr.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Shared with console-walk.mjs, which drives the admin console in its own browser.
export const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
];

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export async function openBrowser({ log = () => {} } = {}) {
    const userDataDir = mkdtempSync(join(tmpdir(), 'warden-interop-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('response', response => {
        const req = response.request();
        if (req.resourceType() === 'document') {
            log({ who: 'browser', method: req.method(), url: req.url(), status: response.status() });
        }
    });
    page.on('requestfailed', req => {
        log({ who: 'browser', method: req.method(), url: req.url(), status: `failed: ${req.failure()?.errorText}` });
    });

    /**
     * Opens `url` (an authorization request) and answers Warden's pages: signs in when asked,
     * approves (or denies) consent, and returns once the browser is sent to `callback`.
     * Returns { callback: the full callback URL, pages: [...], consent: { new, granted } | null }.
     */
    async function authorize(url, { callback, username, password, deny = false, maxSteps = 8 }) {
        // Redirects are not seen by page.route(), so the callback is caught as a request; a
        // client without a listener leaves the browser on an error page, which is fine here.
        let callbackUrl;
        const onRequest = req => {
            if (!callbackUrl && req.url().startsWith(callback)) callbackUrl = req.url();
        };
        page.on('request', onRequest);
        const settle = async action => {
            try {
                await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
            } catch (e) {
                if (!callbackUrl) throw e;
            }
        };
        const pages = [];
        let consent = null;
        try {
            await settle(() => page.goto(url, { waitUntil: 'load' }));
            for (let step = 0; step < maxSteps && !callbackUrl; step++) {
                const title = await page.title();
                if (await page.locator('input[name="username"]').count()) {
                    pages.push('login');
                    if (!username) throw new Error('Warden asked to sign in, but no username was given');
                    await page.fill('input[name="username"]', username);
                    await page.fill('input[name="password"]', password);
                    await settle(() => page.getByRole('button', { name: 'Sign in' }).click());
                } else if (await page.getByRole('button', { name: 'Allow' }).count()) {
                    pages.push('consent');
                    const scopes = async sel =>
                        page.locator(`${sel} li.scope code`).allTextContents().then(a => a.map(s => s.trim()));
                    consent = {
                        new: await scopes('ul.scopes:not(.scopes-muted)'),
                        granted: await scopes('ul.scopes-muted'),
                        text: (await page.locator('h1').first().textContent())?.trim()
                    };
                    await settle(() => page.getByRole('button', { name: deny ? 'Deny' : 'Allow' }).click());
                } else {
                    const body = (await page.locator('body').innerText().catch(() => '')).slice(0, 800);
                    throw new Error(`unexpected page "${title}" at ${page.url()}:\n${body}`);
                }
            }
            if (!callbackUrl) throw new Error(`no redirect to ${callback} after ${pages.join(' -> ')}`);
            pages.push('callback');
            return { callback: callbackUrl, pages, consent };
        } finally {
            page.off('request', onRequest);
        }
    }

    async function close() {
        await context.close().catch(() => {});
        rmSync(userDataDir, { recursive: true, force: true });
    }

    return { authorize, close };
}

// Command-line use.
if (import.meta.url === `file://${process.argv[1]}`) {
    const argv = process.argv.slice(2);
    const opt = name => {
        const i = argv.indexOf(`--${name}`);
        return i === -1 ? undefined : argv[i + 1];
    };
    const url = argv[0];
    const callback = opt('callback');
    if (!url || !callback) {
        console.error('usage: browser.mjs URL --callback PREFIX [--username U --password P] [--deny]');
        process.exit(2);
    }
    const browser = await openBrowser({ log: e => console.error(JSON.stringify(e)) });
    try {
        const result = await browser.authorize(url, {
            callback,
            username: opt('username') ?? process.env.WARDEN_USERNAME,
            password: opt('password') ?? process.env.WARDEN_PASSWORD,
            deny: argv.includes('--deny')
        });
        console.log(JSON.stringify(result));
    } catch (e) {
        console.error(`browser: ${e.message}`);
        process.exitCode = 1;
    } finally {
        await browser.close();
    }
}

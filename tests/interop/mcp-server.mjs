#!/usr/bin/env node
// A small MCP server (the TypeScript SDK's McpServer + StreamableHTTPServerTransport, stateless)
// protected by Warden: it validates Warden's JWT access tokens itself (jose + Warden's JWKS)
// and points unauthenticated clients at the protected resource metadata Warden hosts for it.
//
// Settings (argv wins over env):
//   --port N           / MCP_PORT              loopback port to listen on
//   --issuer URL       / WARDEN_ISSUER         Warden's issuer
//   --resource-metadata URL / MCP_RESOURCE_METADATA  Warden's hosted PRM URL for this resource
//   --resource URI     / MCP_RESOURCE          canonical URI (default http://127.0.0.1:PORT/mcp)
//
// Tools: read_notes (needs mcp:read), write_note (needs mcp:write; without it the HTTP answer is
// 403 with an insufficient_scope challenge, so clients can step up).
import express from 'express';
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as z from 'zod/v4';

function arg(name, envName) {
    const i = process.argv.indexOf(`--${name}`);
    if (i !== -1 && process.argv[i + 1]) return process.argv[i + 1];
    return process.env[envName];
}

const port = Number(arg('port', 'MCP_PORT'));
const issuer = arg('issuer', 'WARDEN_ISSUER');
const resourceMetadata = arg('resource-metadata', 'MCP_RESOURCE_METADATA');
const resource = arg('resource', 'MCP_RESOURCE') ?? `http://127.0.0.1:${port}/mcp`;
if (!port || !issuer || !resourceMetadata) {
    console.error('usage: mcp-server.mjs --port N --issuer URL --resource-metadata URL [--resource URI]');
    process.exit(2);
}

const READ = 'mcp:read';
const WRITE = 'mcp:write';

function log(...parts) {
    console.error(`[mcp-server ${new Date().toISOString()}]`, ...parts);
}

// Discover Warden's jwks_uri from its metadata (RFC 8414 §3.1: well-known at the host root,
// issuer path appended).
const issuerUrl = new URL(issuer);
const metadataUrl = new URL(
    `/.well-known/oauth-authorization-server${issuerUrl.pathname === '/' ? '' : issuerUrl.pathname}`,
    issuerUrl.origin
);
const metadataResponse = await fetch(metadataUrl);
if (!metadataResponse.ok) {
    console.error(`cannot read ${metadataUrl}: ${metadataResponse.status}`);
    process.exit(1);
}
const asMetadata = await metadataResponse.json();
if (asMetadata.issuer !== issuer) {
    console.error(`metadata issuer ${asMetadata.issuer} is not ${issuer}`);
    process.exit(1);
}
const jwks = createRemoteJWKSet(new URL(asMetadata.jwks_uri));

function challenge(params) {
    return (
        'Bearer ' +
        Object.entries({ ...params, resource_metadata: resourceMetadata })
            .map(([k, v]) => `${k}="${v}"`)
            .join(', ')
    );
}

async function verify(token) {
    const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: resource,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'sub', 'client_id']
    });
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    return {
        token,
        clientId: String(payload.client_id),
        scopes,
        expiresAt: payload.exp,
        resource: new URL(resource),
        extra: { sub: payload.sub, jti: payload.jti }
    };
}

// Every request needs a valid token with mcp:read (the scope for basic use, announced in the
// 401 challenge as the MCP spec's scope selection strategy recommends).
async function requireToken(req, res, next) {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!match) {
        res.set('WWW-Authenticate', challenge({ scope: READ }));
        return res.status(401).json({ error: 'invalid_token', error_description: 'no bearer token' });
    }
    try {
        req.auth = await verify(match[1]);
    } catch (e) {
        const why = e instanceof joseErrors.JWTExpired ? 'the token has expired' : `the token is not valid (${e.code ?? e.message})`;
        log(`rejected token: ${why}`);
        res.set('WWW-Authenticate', challenge({ error: 'invalid_token', error_description: why, scope: READ }));
        return res.status(401).json({ error: 'invalid_token', error_description: why });
    }
    if (!req.auth.scopes.includes(READ)) {
        res.set('WWW-Authenticate', challenge({ error: 'insufficient_scope', scope: READ }));
        return res.status(403).json({ error: 'insufficient_scope' });
    }
    next();
}

// write_note needs mcp:write: answered at the HTTP level (403 + challenge) so the client can step up.
function requireWriteForWriteNote(req, res, next) {
    const messages = Array.isArray(req.body) ? req.body : [req.body];
    const wantsWrite = messages.some(m => m?.method === 'tools/call' && m?.params?.name === 'write_note');
    if (wantsWrite && !req.auth.scopes.includes(WRITE)) {
        log(`write_note refused: token scopes "${req.auth.scopes.join(' ')}"`);
        res.set('WWW-Authenticate', challenge({ error: 'insufficient_scope', scope: `${READ} ${WRITE}` }));
        return res.status(403).json({ error: 'insufficient_scope', error_description: 'write_note needs mcp:write' });
    }
    next();
}

const notes = ['first note'];

function buildServer() {
    const server = new McpServer({ name: 'warden-interop-notes', version: '1.0.0' });
    server.registerTool(
        'read_notes',
        { description: 'Read all notes (mcp:read)', inputSchema: {} },
        async (_args, extra) => {
            if (!extra.authInfo?.scopes.includes(READ)) throw new Error('mcp:read required');
            return {
                content: [{ type: 'text', text: JSON.stringify({ notes, sub: extra.authInfo.extra.sub }) }]
            };
        }
    );
    server.registerTool(
        'write_note',
        { description: 'Add a note (mcp:write)', inputSchema: { text: z.string() } },
        async ({ text }, extra) => {
            if (!extra.authInfo?.scopes.includes(WRITE)) throw new Error('mcp:write required');
            notes.push(text);
            return { content: [{ type: 'text', text: `stored note ${notes.length}` }] };
        }
    );
    return server;
}

const app = express();
app.use((req, res, next) => {
    res.on('finish', () => {
        const rpc = req.body && typeof req.body === 'object' ? [req.body].flat().map(m => m?.method ?? 'response').join(',') : '';
        log(`${req.method} ${req.originalUrl} ${rpc} -> ${res.statusCode}`);
    });
    next();
});
app.use(express.json());
const path = new URL(resource).pathname;

app.post(path, requireToken, requireWriteForWriteNote, async (req, res) => {
    const server = buildServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
        transport.close();
        server.close();
    });
    try {
        await server.connect(transport);
        await transport.handleRequest(req, res, req.body);
    } catch (e) {
        log('error handling request', e);
        if (!res.headersSent) {
            res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
        }
    }
});
// Stateless server: no standalone SSE stream, no sessions to delete.
app.all(path, requireToken, (req, res) => {
    res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
});

const listener = app.listen(port, '127.0.0.1', () => {
    log(`listening on http://127.0.0.1:${port}${path} (resource ${resource}, issuer ${issuer})`);
    console.log('READY');
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
        listener.close();
        process.exit(0);
    });
}

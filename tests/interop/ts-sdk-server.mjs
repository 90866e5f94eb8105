#!/usr/bin/env node
// An MCP server protected by Warden the way the TypeScript SDK's documentation sets one up
// (@modelcontextprotocol/sdk 1.32.2: createMcpExpressApp, mcpAuthMetadataRouter serving the
// protected resource metadata (RFC 9728) from this server, requireBearerAuth with an
// OAuthTokenVerifier), plus only what docs/integrations/typescript.md tells users to add: a
// verifier that checks Warden's JWT access tokens (RFC 9068) with jose, and write_note's step-up.
// The code between the `docs:start` / `docs:end` markers is quoted by that page.
//
//   node ts-sdk-server.mjs --port N --issuer URL [--resource URI]
//
// Settings (argv wins over env):
//   --port N        / MCP_PORT       loopback port to listen on
//   --issuer URL    / WARDEN_ISSUER  Warden's issuer
//   --resource URI  / MCP_RESOURCE   canonical URI registered with `warden resource create --uri`
//                                    (default http://127.0.0.1:PORT/mcp)
//
// Tools: read_notes (needs mcp:read), write_note (needs mcp:write; without it the HTTP answer is
// the SDK's 403 insufficient_scope challenge naming both scopes, so clients can step up).
// docs:start imports
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import * as z from 'zod/v4';
import { createRemoteJWKSet, jwtVerify, errors as jose } from 'jose';
import { mcpAuthMetadataRouter, getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
// docs:end imports

function arg(name, envName) {
    const i = process.argv.indexOf(`--${name}`);
    if (i !== -1 && process.argv[i + 1]) return process.argv[i + 1];
    return process.env[envName];
}
const port = Number(arg('port', 'MCP_PORT'));
const issuer = arg('issuer', 'WARDEN_ISSUER');
const resource = arg('resource', 'MCP_RESOURCE') ?? `http://127.0.0.1:${port}/mcp`;
if (!port || !issuer) {
    console.error('usage: ts-sdk-server.mjs --port N --issuer URL [--resource URI]');
    process.exit(2);
}
function log(...parts) {
    console.error(`[ts-sdk-server ${new Date().toISOString()}]`, ...parts);
}

// docs:start settings
const WARDEN_ISSUER = issuer; // e.g. https://auth.example.com, exactly as Warden prints it
const MCP_RESOURCE = resource; // e.g. https://mcp.example.com/mcp, the --uri given to Warden
const READ = 'mcp:read';
const WRITE = 'mcp:write';

// Warden's metadata (RFC 8414 §3.1: the well-known path goes before the issuer's path): the
// JWKS location, and the document the SDK's metadata router needs. Fetched once at start-up;
// jose refetches the key set itself when a new key appears.
const issuerPath = new URL(WARDEN_ISSUER).pathname.replace(/\/$/, '');
const metadataUrl = new URL(`/.well-known/oauth-authorization-server${issuerPath}`, WARDEN_ISSUER);
const oauthMetadata = await fetch(metadataUrl).then(r => r.json());
if (oauthMetadata.issuer !== WARDEN_ISSUER) throw new Error(`Warden says its issuer is ${oauthMetadata.issuer}`);
const jwks = createRemoteJWKSet(new URL(oauthMetadata.jwks_uri));
// docs:end settings

// docs:start verifier
// An OAuthTokenVerifier: Warden's access token (RFC 9068) in, the SDK's AuthInfo out.
const verifier = {
    async verifyAccessToken(token) {
        let payload;
        try {
            ({ payload } = await jwtVerify(token, jwks, {
                issuer: WARDEN_ISSUER,
                audience: MCP_RESOURCE, // a token for another MCP server is refused here
                algorithms: ['ES256'], // Warden's default WARDEN_SIGNING_ALG
                typ: 'at+jwt', // RFC 9068 §4: not an ID token or any other JWT
                requiredClaims: ['exp', 'client_id']
            }));
        } catch (e) {
            if (e instanceof jose.JWKSTimeout) throw new ServerError('Warden key set unreachable');
            if (!(e instanceof jose.JOSEError)) throw e;
            // requireBearerAuth answers 401 + challenge only for InvalidTokenError (anything
            // else becomes a 500), and copies the message into the header unescaped: no quotes.
            throw new InvalidTokenError(e instanceof jose.JWTExpired ? 'The access token expired' : `The access token was refused (${e.code})`);
        }
        return {
            token,
            clientId: payload.client_id,
            scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [],
            expiresAt: payload.exp, // required: without it requireBearerAuth refuses every token
            resource: new URL(MCP_RESOURCE),
            extra: { sub: payload.sub }
        };
    }
};
// docs:end verifier

const notes = ['first note'];

function buildServer() {
    const server = new McpServer({ name: 'warden-interop-ts-sdk-server', version: '1.0.0' });
    // docs:start tools
    server.registerTool('read_notes', { description: 'Read all notes (mcp:read)', inputSchema: {} }, async (_args, { authInfo }) => {
        if (!authInfo?.scopes.includes(READ)) throw new Error('mcp:read required');
        return { content: [{ type: 'text', text: JSON.stringify({ notes, sub: authInfo.extra.sub }) }] };
    });
    server.registerTool(
        'write_note',
        { description: 'Add a note (mcp:write)', inputSchema: { text: z.string() } },
        async ({ text }, { authInfo }) => {
            if (!authInfo?.scopes.includes(WRITE)) throw new Error('mcp:write required');
            notes.push(text);
            return { content: [{ type: 'text', text: `stored note ${notes.length}` }] };
        }
    );
    // docs:end tools
    return server;
}

// docs:start auth
// createMcpExpressApp: express.json(), and Host header checks while bound to loopback.
const app = createMcpExpressApp();
// The protected resource metadata (RFC 9728), served by this server at
// /.well-known/oauth-protected-resource/mcp, naming Warden as the authorization server.
app.use(
    mcpAuthMetadataRouter({
        oauthMetadata,
        resourceServerUrl: new URL(MCP_RESOURCE),
        scopesSupported: [READ, WRITE],
        resourceName: 'Notes'
    })
);
const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(MCP_RESOURCE));
const needsRead = requireBearerAuth({ verifier, requiredScopes: [READ], resourceMetadataUrl });
const needsWrite = requireBearerAuth({ verifier, requiredScopes: [READ, WRITE], resourceMetadataUrl });
// requireBearerAuth checks scopes per route; MCP has one route for every tool. Calls to
// write_note go through the middleware that requires mcp:write, so a token without it gets
// 403 insufficient_scope with scope="mcp:read mcp:write" and the client can step up.
const callsWriteNote = body => [body].flat().some(m => m?.method === 'tools/call' && m.params?.name === 'write_note');
const bearerAuth = (req, res, next) => (callsWriteNote(req.body) ? needsWrite : needsRead)(req, res, next);
// docs:end auth

// docs:start route
const path = new URL(MCP_RESOURCE).pathname;
app.post(path, bearerAuth, async (req, res) => {
    const server = buildServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
        transport.close();
        server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body); // the SDK hands req.auth to the tools as authInfo
});
// docs:end route
// Stateless server: no standalone SSE stream, no sessions to delete.
app.all(path, bearerAuth, (req, res) => {
    res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
});

const listener = app.listen(port, '127.0.0.1', () => {
    log(`listening on http://127.0.0.1:${port}${path} (resource ${MCP_RESOURCE}, issuer ${WARDEN_ISSUER}, PRM ${resourceMetadataUrl})`);
    console.log('READY');
});
// Each answer in the log, with its challenge (on the HTTP server: the routes above end responses).
listener.on('request', (req, res) => {
    res.on('finish', () => {
        const rpc = req.body && typeof req.body === 'object' ? [req.body].flat().map(m => m?.method ?? 'response').join(',') : '';
        const www = res.getHeader('WWW-Authenticate');
        log(`${req.method} ${req.originalUrl ?? req.url} ${rpc} -> ${res.statusCode}${www ? ` (${www})` : ''}`);
    });
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
        listener.close();
        process.exit(0);
    });
}

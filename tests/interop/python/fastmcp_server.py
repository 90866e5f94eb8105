"""A FastMCP server (fastmcp 4.1.6, pinned in requirements.txt) protected by Warden, set up the
way FastMCP's documentation shows (`JWTVerifier` + `RemoteAuthProvider`, per-tool
`auth=require_scopes(...)`) plus the settings docs/integrations/fastmcp.md tells users to add.

    python fastmcp_server.py --port N --issuer URL [--resource URI]

Tools: read_notes (needs mcp:read), write_note (needs mcp:write). FastMCP serves the protected
resource metadata itself (/.well-known/oauth-protected-resource/mcp) and points its 401
challenge at it; the challenge asks for both scopes, since FastMCP cannot make a client step up.

The regions between `docs:start NAME` / `docs:end NAME` are copied verbatim into
docs/integrations/fastmcp.md (a test compares them).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request

# docs:start imports
from fastmcp import FastMCP
from fastmcp.server.auth import AccessToken, RemoteAuthProvider, require_scopes
from fastmcp.server.auth.providers.jwt import JWTVerifier
from fastmcp.utilities.auth import decode_jwt_header
from pydantic import AnyHttpUrl

# docs:end imports


# docs:start typ
class AccessTokenJWTVerifier(JWTVerifier):
    """JWTVerifier that also insists on `typ: at+jwt` (RFC 9068 §4), which FastMCP does not
    check: without it, any other JWT Warden signs with the same key would pass."""

    async def load_access_token(self, token: str) -> AccessToken | None:
        try:
            typ = str(decode_jwt_header(token).get("typ", "")).lower()
        except ValueError:
            return None
        if typ not in ("at+jwt", "application/at+jwt"):
            return None
        return await super().load_access_token(token)


# docs:end typ


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--issuer", required=True, help="Warden's issuer identifier, exactly as its metadata says")
    p.add_argument("--resource", help="canonical URI of this server (default http://127.0.0.1:PORT/mcp)")
    return p.parse_args()


def jwks_uri_of(issuer: str) -> str:
    """Warden's jwks_uri, read from its metadata (RFC 8414 §3: well-known at the host root with
    the issuer's path appended)."""
    scheme, _, rest = issuer.partition("://")
    host, _, path = rest.partition("/")
    url = f"{scheme}://{host}/.well-known/oauth-authorization-server" + (f"/{path.rstrip('/')}" if path.strip("/") else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        meta = json.load(r)
    if meta["issuer"] != issuer:
        sys.exit(f"metadata issuer {meta['issuer']} is not {issuer}")
    return meta["jwks_uri"]


def build_server(ISSUER: str, JWKS_URI: str, BASE_URL: str, RESOURCE: str) -> FastMCP:  # noqa: N803
    # docs:start auth
    verifier = AccessTokenJWTVerifier(
        jwks_uri=JWKS_URI,  # Warden's metadata says: {issuer origin}/jwks.json
        issuer=ISSUER,  # exactly the `issuer` of Warden's metadata
        audience=RESOURCE,  # the URI given to `warden resource create --uri`
        algorithm="ES256",  # Warden signs with ES256; FastMCP's default RS256 refuses every token
        required_scopes=["mcp:read"],  # every request needs it
    )
    auth = RemoteAuthProvider(
        token_verifier=verifier,
        authorization_servers=[AnyHttpUrl(ISSUER)],
        base_url=BASE_URL,  # the resource is BASE_URL + the path the server runs on (/mcp)
        scopes_supported=["mcp:read", "mcp:write"],
        # FastMCP refuses a tool for a missing scope inside JSON-RPC, never with an HTTP 403
        # insufficient_scope, so clients cannot step up: ask for every tool's scope up front.
        challenge_scopes=["mcp:read", "mcp:write"],
        resource_name="Interop notes",
    )
    mcp = FastMCP(name="warden-interop-notes", auth=auth)
    # docs:end auth

    notes = ["first note"]

    # docs:start tools
    @mcp.tool(auth=require_scopes("mcp:read"))
    def read_notes() -> str:
        """Read all notes (mcp:read)."""
        return json.dumps({"notes": notes})

    @mcp.tool(auth=require_scopes("mcp:write"))
    def write_note(text: str) -> str:
        """Add a note (mcp:write)."""
        notes.append(text)
        return f"stored note {len(notes)}"

    # docs:end tools
    return mcp


if __name__ == "__main__":
    args = parse_args()
    issuer = args.issuer
    jwks_uri = jwks_uri_of(issuer)
    base_url = f"http://127.0.0.1:{args.port}"
    resource = args.resource or f"{base_url}/mcp"
    mcp = build_server(issuer, jwks_uri, base_url, resource)
    print(f"FastMCP server on {resource} (issuer {issuer}, jwks {jwks_uri})", file=sys.stderr, flush=True)
    # docs:start run
    mcp.run(transport="http", host="127.0.0.1", port=args.port, path="/mcp")
    # docs:end run

"""Tokens an MCP server must refuse, presented as plain bearer tokens (FastMCP's `Client(auth=TOKEN)`).

    python foreign_token.py --mcp URL --issuer URL --client-id ID --client-secret S
                            --other-client-id ID --other-client-secret S --other-resource URI [--log FILE]

Both clients are admin-registered client_credentials agents limited to mcp:read: the first for
this MCP server, the second for another resource Warden protects. Checks:
  - a token for this server with mcp:read: read_notes works (the control), write_note (needs
    mcp:write) is refused and not even listed;
  - a token Warden issued for the other resource (right issuer, right key, wrong `aud`) is
    refused with 401 invalid_token.
The last stdout line is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import urlsplit

import httpx2
from client import Harness, claims
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport


async def client_credentials(h: Harness, token_endpoint: str, client_id: str, secret: str, resource: str) -> str:
    async with httpx2.AsyncClient(event_hooks={"request": [h.on_request], "response": [h.on_response]}) as http:
        r = await http.post(
            token_endpoint,
            auth=(client_id, secret),
            data={"grant_type": "client_credentials", "scope": "mcp:read", "resource": resource},
        )
    h.check(f"client_credentials token for {resource} answered 200", r.status_code == 200, r.status_code)
    return r.json()["access_token"]


async def scenario(h: Harness, args: argparse.Namespace) -> None:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(args.issuer))
    path = urlsplit(args.issuer).path.rstrip("/")
    async with httpx2.AsyncClient() as http:
        meta = (await http.get(f"{origin}/.well-known/oauth-authorization-server{path}")).json()
    h.check("metadata issuer is the issuer given", meta["issuer"] == h.issuer, meta["issuer"])

    def factory(**kwargs) -> httpx2.AsyncClient:
        kwargs.setdefault("timeout", httpx2.Timeout(30, read=60))
        return httpx2.AsyncClient(event_hooks={"request": [h.on_request], "response": [h.on_response]}, **kwargs)

    # control: the right token works, and per-tool scopes hold
    own = await client_credentials(h, meta["token_endpoint"], args.client_id, args.client_secret, h.mcp)
    h.check("own token: aud = this server, scope mcp:read", claims(own)["aud"] == h.mcp and claims(own)["scope"] == "mcp:read", claims(own))
    async with Client(StreamableHttpTransport(h.mcp, auth=own, httpx_client_factory=factory)) as client:
        r = await client.call_tool("read_notes", {})
        h.check("own token: read_notes succeeded", not r.is_error, r.content)
        tools = sorted(t.name for t in await client.list_tools())
        h.check("own token without mcp:write: write_note is not listed", tools == ["read_notes"], tools)
        mark = len(h.http_log)
        try:
            w = await client.call_tool("write_note", {"text": "should not be stored"}, raise_on_error=False)
            outcome = f"is_error={w.is_error}: {''.join(getattr(c, 'text', '') for c in w.content)}"
            refused = w.is_error
        except Exception as e:  # noqa: BLE001
            outcome, refused = f"{type(e).__name__}: {e}", True
        statuses = [e.get("status") for e in h.since(mark) if e["url"].startswith(h.mcp)]
        h.check("own token without mcp:write: write_note refused", refused, outcome)
        h.note(f"write_note without mcp:write: HTTP {statuses}, {outcome}")

    # a token for another resource
    other = await client_credentials(h, meta["token_endpoint"], args.other_client_id, args.other_client_secret, args.other_resource)
    h.check("other token: same issuer, aud = the other resource", claims(other)["iss"] == h.issuer and claims(other)["aud"] == args.other_resource, claims(other))
    mark = len(h.http_log)
    error = None
    try:
        async with Client(StreamableHttpTransport(h.mcp, auth=other, httpx_client_factory=factory)) as client:
            await client.call_tool("read_notes", {})
    except Exception as e:  # noqa: BLE001 (the connection must fail; how is FastMCP's business)
        error = f"{type(e).__name__}: {e}"
    refused = [e for e in h.since(mark) if e["url"].startswith(h.mcp) and e.get("status") == 401]
    h.check("other resource's token refused: 401 invalid_token", error and refused and 'error="invalid_token"' in refused[0].get("wwwAuthenticate", ""), {"error": error, "responses": refused[:1]})


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mcp", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--other-client-id", required=True)
    p.add_argument("--other-client-secret", required=True)
    p.add_argument("--other-resource", required=True)
    p.add_argument("--log")
    args = p.parse_args()
    h = Harness("fastmcp:foreign-token", args.issuer, args.mcp, args.log)
    return await h.run(scenario(h, args))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

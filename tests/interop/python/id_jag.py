"""Enterprise-Managed Authorization (SEP-990) end to end with the official Python MCP SDK
(`mcp` 2.3.0 `IdentityAssertionOAuthProvider`), unpatched.

    python id_jag.py --mcp URL --issuer URL --app-id ID --app-secret S --agent-id ID --agent-secret S \
        --callback URL --username U --password P [--log FILE]

One Warden plays both parts (it trusts its own issuer as an ID-JAG IdP, `warden idp add`):
  leg 1 (Warden as the IdP): alice signs in through the pages (browser.mjs) for the app client
        with `openid`; the code exchange returns her ID token; the SDK's assertion_provider
        exchanges it (RFC 8693, requested_token_type id-jag, audience = the AS issuer,
        resource = the MCP server) for an ID-JAG naming the agent client;
  leg 2 (Warden as the AS): the SDK presents the ID-JAG with the jwt-bearer grant and calls
        read_notes on the MCP server with the token it got.
Negative controls: the same ID-JAG replayed is invalid_grant; an ID-JAG for another audience
is refused at the IdP (invalid_target). Exit code 0 only if every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import secrets
import sys
from urllib.parse import parse_qs, urlencode, urlparse

import httpx2
from client import HERE, Harness, MemoryStorage, claims, text_of
from mcp import Client
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.client.streamable_http import streamable_http_client

ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header(jwt: str) -> dict:
    part = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def sign_in(h: Harness, args: argparse.Namespace, http: httpx2.AsyncClient, meta: dict) -> str:
    """Leg 1's user step: an OIDC code flow for the app client; alice's ID token."""
    verifier = b64url(secrets.token_bytes(32))
    state, nonce = b64url(secrets.token_bytes(16)), b64url(secrets.token_bytes(16))
    url = meta["authorization_endpoint"] + "?" + urlencode({
        "response_type": "code",
        "client_id": args.app_id,
        "redirect_uri": args.callback,
        "scope": "openid mcp:read",
        "resource": h.mcp,
        "state": state,
        "nonce": nonce,
        "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    })
    proc = await asyncio.create_subprocess_exec(
        "node", str(HERE.parent / "browser.mjs"), url, "--callback", args.callback,
        "--username", args.username, "--password", args.password,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    for line in err.decode().splitlines():
        try:
            h.log(json.loads(line))
        except ValueError:
            print(f"  browser: {line}", file=sys.stderr)
    h.check("browser reached the app's callback", proc.returncode == 0, err.decode()[-800:] if proc.returncode else None)
    result = json.loads(out.decode().strip().splitlines()[-1])
    params = {k: v[0] for k, v in parse_qs(urlparse(result["callback"]).query).items()}
    h.check("authorization response: code, same state, iss", params.get("code") and params.get("state") == state and params.get("iss") == h.issuer, params.get("error"))
    r = await http.post(meta["token_endpoint"], auth=(args.app_id, args.app_secret), data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": args.callback,
        "code_verifier": verifier, "resource": h.mcp,
    })
    h.check("code exchange answered 200 with an id_token", r.status_code == 200 and "id_token" in r.json(), r.text[:300])
    idt = r.json()["id_token"]
    c = claims(idt)
    h.check("ID token: iss, aud = azp = app, nonce echoed, auth_time", c["iss"] == h.issuer and c["aud"] == args.app_id and c.get("azp") == args.app_id and c.get("nonce") == nonce and "auth_time" in c, c)
    return idt


async def exchange(h: Harness, args: argparse.Namespace, http: httpx2.AsyncClient, meta: dict, id_token: str, audience: str, resource: str) -> httpx2.Response:
    return await http.post(meta["token_endpoint"], auth=(args.app_id, args.app_secret), data={
        "grant_type": TOKEN_EXCHANGE, "requested_token_type": ID_JAG, "audience": audience,
        "resource": resource, "scope": "mcp:read",
        "subject_token": id_token, "subject_token_type": ID_TOKEN,
    })


async def scenario(h: Harness, args: argparse.Namespace) -> None:
    hooks = {"request": [h.on_request], "response": [h.on_response]}
    async with httpx2.AsyncClient(timeout=30, event_hooks=hooks) as http:
        meta = (await http.get(h.issuer + "/.well-known/oauth-authorization-server")).json()
        h.check("metadata: jwt-bearer grant and the id-jag grant profile", JWT_BEARER in meta.get("grant_types_supported", []) and "urn:ietf:params:oauth:grant-profile:id-jag" in meta.get("authorization_grant_profiles_supported", []), meta.get("grant_types_supported"))
        id_token = await sign_in(h, args, http, meta)

        issued: list[str] = []

        async def assertion_provider(audience: str, resource: str) -> str:
            h.check("the SDK asks for an ID-JAG for the configured issuer and the MCP server", audience == h.issuer and resource == h.mcp, {"audience": audience, "resource": resource})
            r = await exchange(h, args, http, meta, id_token, audience, resource)
            body = r.json()
            h.check("leg 1: token exchange issued an ID-JAG", r.status_code == 200 and body.get("issued_token_type") == ID_JAG and body.get("token_type") == "N_A", r.text[:300])
            jag = body["access_token"]
            c, hd = claims(jag), header(jag)
            h.check("ID-JAG: typ oauth-id-jag+jwt, iss = aud = issuer, client_id = agent, resource, scope", hd.get("typ") == "oauth-id-jag+jwt" and c["iss"] == h.issuer and c["aud"] == h.issuer and c["client_id"] == args.agent_id and c["resource"] == h.mcp and c.get("scope") == "mcp:read", {"header": hd, "claims": c})
            issued.append(jag)
            return jag

        storage = MemoryStorage()
        provider = IdentityAssertionOAuthProvider(
            server_url=h.mcp, storage=storage, client_id=args.agent_id, client_secret=args.agent_secret,
            issuer=h.issuer, assertion_provider=assertion_provider, scope="mcp:read",
        )
        sdk = httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=300), event_hooks=hooks)
        async with sdk, Client(streamable_http_client(h.mcp, http_client=sdk)) as client:
            r = await client.call_tool("read_notes", {})
            h.check("read_notes succeeded with the ID-JAG's token", not r.is_error, await text_of(r))
        leg2 = [e for e in h.http_log if e["url"] == meta["token_endpoint"] and JWT_BEARER in e.get("body", "")]
        h.check("leg 2: one jwt-bearer request, answered 200", len(leg2) == 1 and leg2[0].get("status") == 200, leg2)
        c = claims(storage.tokens.access_token)
        h.check("access token: aud = MCP server, client_id = agent, scope mcp:read, sub = alice's id (the ID token's sub)", c["aud"] == h.mcp and c["client_id"] == args.agent_id and c["scope"] == "mcp:read" and c["sub"] == claims(id_token)["sub"], c)
        h.check("no refresh token for an ID-JAG grant", storage.tokens.refresh_token is None)

        # Negative controls: the ID-JAG cannot be redeemed twice; the IdP policy holds.
        r = await http.post(meta["token_endpoint"], data={"grant_type": JWT_BEARER, "assertion": issued[0], "resource": h.mcp, "client_id": args.agent_id, "client_secret": args.agent_secret})
        h.check("the same ID-JAG replayed: 400 invalid_grant", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text[:300])
        r = await exchange(h, args, http, meta, id_token, "https://as.elsewhere.example", h.mcp)
        h.check("an ID-JAG for an audience outside the policy: 400 invalid_target", r.status_code == 400 and r.json().get("error") == "invalid_target", r.text[:300])


async def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("--mcp", "--issuer", "--app-id", "--app-secret", "--agent-id", "--agent-secret", "--callback", "--password"):
        p.add_argument(name, required=True)
    p.add_argument("--username", default="alice")
    p.add_argument("--log")
    args = p.parse_args()
    h = Harness("py:id-jag", args.issuer, args.mcp, args.log)
    return await h.run(scenario(h, args))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

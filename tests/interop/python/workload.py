"""A workload without a secret (SEP-1933): a JWT from a test issuer, traded at Warden's /token
with the jwt-bearer grant, then a tool call through the official Python MCP SDK's session.

    python workload.py --mcp URL --issuer URL --jwks-port PORT --client-id ID [--log FILE]

The script is the workload's platform: it makes an ES256 key, serves its JWK Set on
http://127.0.0.1:PORT/jwks (the issuer is http://127.0.0.1:PORT, as `warden workload add` was
told) and signs the workload's JWT (`sub` spiffe://interop.test/ns/agents/sa/reporter, `aud` Warden's
issuer). `mcp` 2.3.0 has no workload provider, so the grant is plain httpx; the token then rides
on the SDK's streamable HTTP client. Negative controls: the same JWT replayed, a JWT signed by
another key, and one for a subject no rule matches are each 400 invalid_grant.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import jwt
from client import Harness, claims, text_of
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SUBJECT = "spiffe://interop.test/ns/agents/sa/reporter"


class Platform:
    """The test issuer: a key, its JWKS on loopback, and the JWTs it signs."""

    def __init__(self, h: Harness, port: int):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.issuer = f"http://127.0.0.1:{port}"
        jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": "interop-1", "use": "sig", "alg": "ES256"})
        body = json.dumps({"keys": [jwk]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                found = self.path == "/jwks"
                self.send_response(200 if found else 404)
                self.send_header("content-type", "application/json")
                self.end_headers()
                if found:
                    self.wfile.write(body)
                h.log({"who": "jwks-server", "method": "GET", "url": self.path, "status": 200 if found else 404})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sign(self, audience: str, subject: str = SUBJECT, key: ec.EllipticCurvePrivateKey | None = None) -> str:
        now = int(time.time())
        return jwt.encode(
            {"iss": self.issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())},
            key or self.key, algorithm="ES256", headers={"kid": "interop-1", "typ": "JWT"},
        )

    def close(self) -> None:
        self.server.shutdown()


async def scenario(h: Harness, args: argparse.Namespace) -> None:
    platform = Platform(h, args.jwks_port)
    hooks = {"request": [h.on_request], "response": [h.on_response]}
    try:
        async with httpx2.AsyncClient(timeout=30, event_hooks=hooks) as http:
            meta = (await http.get(h.issuer + "/.well-known/oauth-authorization-server")).json()
            token_endpoint = meta["token_endpoint"]

            async def grant(assertion: str) -> httpx2.Response:
                # No client authentication: the platform's JWT is the credential.
                return await http.post(token_endpoint, data={"grant_type": JWT_BEARER, "assertion": assertion, "resource": h.mcp, "scope": "mcp:read"})

            assertion = platform.sign(h.issuer)
            r = await grant(assertion)
            h.check("jwt-bearer with the workload JWT answered 200", r.status_code == 200, r.text[:300])
            h.check("Warden fetched the test issuer's JWKS", any(e["who"] == "jwks-server" and e.get("status") == 200 for e in h.http_log))
            tok = r.json()
            c = claims(tok["access_token"])
            h.check("token: aud = MCP server, sub = client_id = workload client, scope mcp:read, no refresh token", c["aud"] == h.mcp and c["sub"] == args.client_id and c["client_id"] == args.client_id and c["scope"] == "mcp:read" and "refresh_token" not in tok, c)

            sdk = httpx2.AsyncClient(headers={"Authorization": f"Bearer {tok['access_token']}"}, timeout=httpx2.Timeout(30, read=300), event_hooks=hooks)
            async with sdk, Client(streamable_http_client(h.mcp, http_client=sdk)) as client:
                res = await client.call_tool("read_notes", {})
                h.check("read_notes succeeded with the workload's token", not res.is_error, await text_of(res))

            r = await grant(assertion)
            h.check("the same workload JWT replayed: 400 invalid_grant", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text[:300])
            r = await grant(platform.sign(h.issuer, key=ec.generate_private_key(ec.SECP256R1())))
            h.check("a JWT signed by a key not in the JWKS: 400 invalid_grant", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text[:300])
            r = await grant(platform.sign(h.issuer, subject="spiffe://interop.test/ns/elsewhere/sa/reporter"))
            h.check("a subject outside the rule's glob: 400 invalid_grant", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text[:300])
            r = await grant(platform.sign("https://as.elsewhere.example"))
            h.check("a JWT for another audience: 400 invalid_grant", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text[:300])
    finally:
        platform.close()


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mcp", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--jwks-port", type=int, required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--log")
    args = p.parse_args()
    h = Harness("py:workload", args.issuer, args.mcp, args.log)
    return await h.run(scenario(h, args))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""The FastMCP pitfalls docs/integrations/fastmcp.md describes, checked against the pinned fastmcp
and a live Warden, so the guide stops being true the day FastMCP changes.

    python fastmcp_pitfalls.py --mcp URL --issuer URL --client-id ID --client-secret S [--log FILE]

--issuer is Warden's (slash) issuer, --mcp the running FastMCP server, the client an agent for it.
  - FastMCP advertises `AnyHttpUrl(issuer)`: a path-less issuer gains a slash;
  - `JWTVerifier` left at its default algorithm is RS256 and refuses Warden's valid ES256 token
    (the control: the same verifier with algorithm="ES256" accepts it), and it compares `iss`
    exactly (the issuer without the slash refuses the token);
  - `JWTVerifier` accepts a JWT whose `typ` is not at+jwt (a throwaway ES256 key stands in for
    Warden's, which signs nothing else); `AccessTokenJWTVerifier` of fastmcp_server.py refuses it.
The last stdout line is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from urllib.parse import urlsplit

import httpx2
from client import Harness
from fastmcp.server.auth.providers.jwt import JWTVerifier
from fastmcp_server import AccessTokenJWTVerifier
from joserfc import jwk, jwt
from pydantic import AnyHttpUrl


async def scenario(h: Harness, args: argparse.Namespace) -> None:
    hooks = {"request": [h.on_request], "response": [h.on_response]}
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(h.mcp))
    async with httpx2.AsyncClient(event_hooks=hooks) as http:
        meta = (await http.get(f"{h.issuer.rstrip('/')}/.well-known/oauth-authorization-server")).json()
        prm = (await http.get(f"{origin}/.well-known/oauth-protected-resource{urlsplit(h.mcp).path}")).json()
        r = await http.post(
            meta["token_endpoint"],
            auth=(args.client_id, args.client_secret),
            data={"grant_type": "client_credentials", "scope": "mcp:read", "resource": h.mcp},
        )
    token = r.json()["access_token"]
    bare = h.issuer.rstrip("/")
    h.check("pydantic AnyHttpUrl adds a slash to a path-less issuer", str(AnyHttpUrl(bare)) == bare + "/", str(AnyHttpUrl(bare)))
    h.check("FastMCP's metadata names Warden's slash issuer", prm["authorization_servers"] == [h.issuer] and meta["issuer"] == h.issuer, prm)

    common = {"jwks_uri": meta["jwks_uri"], "audience": h.mcp, "jwks_refresh_interval": 0}
    default = JWTVerifier(issuer=h.issuer, **common)
    h.check("JWTVerifier's default algorithm is RS256", default.algorithm == "RS256", default.algorithm)
    h.check("left at RS256, it refuses Warden's valid ES256 token", await default.verify_token(token) is None)
    h.check("control: algorithm=ES256 accepts the same token", await JWTVerifier(issuer=h.issuer, algorithm="ES256", **common).verify_token(token))
    h.check("the issuer without the slash refuses it (exact iss comparison)", await JWTVerifier(issuer=bare, algorithm="ES256", **common).verify_token(token) is None)

    key = jwk.ECKey.generate_key("P-256")
    pem = key.as_pem(private=False).decode()
    claims = {"iss": h.issuer, "aud": h.mcp, "sub": "someone", "exp": int(time.time()) + 60, "scope": "mcp:read"}
    for typ in ("at+jwt", "JWT", None):
        signed = jwt.encode({"alg": "ES256", **({"typ": typ} if typ else {})}, claims, key, algorithms=["ES256"])
        plain = await JWTVerifier(public_key=pem, algorithm="ES256", issuer=h.issuer, audience=h.mcp).verify_token(signed)
        strict = await AccessTokenJWTVerifier(public_key=pem, algorithm="ES256", issuer=h.issuer, audience=h.mcp).verify_token(signed)
        if typ == "at+jwt":
            h.check("typ at+jwt: both verifiers accept", plain and strict)
        else:
            h.check(f"typ {typ}: JWTVerifier accepts it, AccessTokenJWTVerifier refuses it", plain and strict is None)


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mcp", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--log")
    args = p.parse_args()
    h = Harness("fastmcp:pitfalls", args.issuer, args.mcp, args.log)
    return await h.run(scenario(h, args))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

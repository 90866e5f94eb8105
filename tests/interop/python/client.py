"""The official Python MCP SDK client (`mcp` package, OAuthClientProvider), unpatched, against
an MCP server protected by Warden.

    python client.py --scenario S --mcp URL --issuer URL [options]

Scenarios:
  dcr                 dynamic registration, read_notes, refresh once the access token expires,
                      step-up to mcp:write on 403 insufficient_scope (with --no-step-up: the
                      server's challenge asks for every scope up front and cannot answer 403
                      insufficient_scope, as FastMCP; the first token carries mcp:write)
  cimd                the same with a Client ID Metadata Document served over https on loopback
                      (--cimd-cert/--cimd-key; Warden must trust the certificate)
  client-credentials  the SDK's ClientCredentialsOAuthProvider (--client-id/--client-secret)

--prm URL: the protected resource metadata must come from URL (an MCP server that serves its
own, e.g. ts-sdk-server.mjs) instead of Warden's hosted copy.

The browser step runs `node ../browser.mjs URL --callback ...` (headless Chromium through
Warden's sign-in and consent pages) and hands the callback's parameters back to the SDK through
its callback_handler. Every HTTP request the client makes is logged (method, URL, status); the
log is printed when anything fails. Exit code 0 only if every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import ssl
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

HERE = Path(__file__).resolve().parent
SECRET_PARAMS = {"code", "code_verifier", "refresh_token", "client_secret", "client_assertion"}


class CheckFailed(Exception):
    pass


class Harness:
    def __init__(self, tag: str, issuer: str, mcp: str, log_file: str | None):
        self.tag = tag
        self.issuer = issuer
        self.mcp = mcp
        self.log_file = log_file
        self.http_log: list[dict] = []
        self.checks: list[dict] = []
        self.notes: list[str] = []

    # ------------------------------------------------------------ log
    def log(self, entry: dict) -> None:
        entry = {"t": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **entry}
        self.http_log.append(entry)
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(json.dumps({"client": self.tag, **entry}) + "\n")

    async def on_request(self, request: httpx2.Request) -> None:
        request.extensions["interop_entry"] = entry = {
            "who": "sdk",
            "method": request.method,
            "url": str(request.url),
        }
        authz = request.headers.get("authorization")
        if authz:
            entry["authorization"] = authz[:16] + "…"
        if not str(request.url).startswith(self.mcp) and request.content:
            entry["body"] = self._describe(request.content, request.headers.get("content-type", ""))
        elif request.content:
            try:
                msg = json.loads(request.content)
                entry["rpc"] = ",".join(
                    f"tools/call:{m.get('params', {}).get('name')}" if m.get("method") == "tools/call" else m.get("method", "response")
                    for m in (msg if isinstance(msg, list) else [msg])
                )
            except ValueError:
                pass

    async def on_response(self, response: httpx2.Response) -> None:
        entry = response.request.extensions.get("interop_entry") or {
            "who": "sdk",
            "method": response.request.method,
            "url": str(response.request.url),
        }
        entry["status"] = response.status_code
        www = response.headers.get("www-authenticate")
        if www:
            entry["wwwAuthenticate"] = www
        to_mcp = str(response.request.url).startswith(self.mcp)
        if not to_mcp or response.status_code >= 400:
            await response.aread()
            text = response.text
            import re

            text = re.sub(
                r'"(access_token|refresh_token|client_secret|registration_access_token)"\s*:\s*"([^"]{0,8})[^"]*"',
                r'"\1":"\2…"',
                text,
            )
            entry["response"] = text if len(text) <= 600 else text[:600] + "…"
        self.log(entry)

    @staticmethod
    def _describe(content: bytes, content_type: str) -> str:
        text = content.decode(errors="replace")
        if "x-www-form-urlencoded" in content_type:
            pairs = parse_qs(text, keep_blank_values=True)
            return "&".join(
                f"{k}={(v[0][:6] + '…') if k in SECRET_PARAMS else v[0]}" for k, vs in pairs.items() for v in [vs]
            )
        return text if len(text) <= 600 else text[:600] + "…"

    def print_log(self) -> None:
        print(f"---- HTTP log of {self.tag} ({len(self.http_log)} requests) ----", file=sys.stderr)
        for e in self.http_log:
            extra = "".join(
                f"\n      {k}: {e[k]}" for k in ("authorization", "body", "rpc", "wwwAuthenticate", "response") if e.get(k)
            )
            print(f"  {e['t']} {e['who']:<7} {e['method']} {e['url']} -> {e.get('status')}{extra}", file=sys.stderr)

    # ------------------------------------------------------------ checks
    def check(self, name: str, ok: object, detail: object = None) -> None:
        self.checks.append({"name": name, "ok": bool(ok)})
        d = "" if detail is None else f" — {detail if isinstance(detail, str) else json.dumps(detail, default=str)}"
        print(f"{'ok  ' if ok else 'FAIL'} [{self.tag}] {name}{d}", file=sys.stderr)
        if not ok:
            raise CheckFailed(name)

    async def run(self, scenario) -> int:
        """Awaits the scenario and prints the JSON summary line run.sh reads (with the HTTP log
        when anything failed); the exit status."""
        started = time.time()
        try:
            await scenario
        except BaseException as e:  # noqa: BLE001 (anyio wraps failures in exception groups)
            failed = [c["name"] for c in self.checks if not c["ok"]]
            if not failed:
                print(f"FAIL [{self.tag}] {''.join(traceback.format_exception(e))[-3000:]}", file=sys.stderr)
            self.print_log()
            print(json.dumps({"client": self.tag, "ok": False, "checks": len(self.checks), "failed": failed, "error": None if failed else repr(e)[:500], "notes": self.notes}))
            return 1
        if os.environ.get("INTEROP_VERBOSE"):
            self.print_log()
        print(json.dumps({"client": self.tag, "ok": True, "checks": len(self.checks), "notes": self.notes, "seconds": round(time.time() - started, 1)}))
        return 0

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"note [{self.tag}] {text}", file=sys.stderr)

    def since(self, mark: int) -> list[dict]:
        return self.http_log[mark:]

    def is_warden(self, e: dict) -> bool:
        return e["url"].startswith(self.issuer)


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Browser:
    """redirect_handler + callback_handler: the user's browser, run by browser.mjs."""

    def __init__(self, h: Harness, callback: str, username: str, password: str):
        self.h = h
        self.callback = callback
        self.username = username
        self.password = password
        self.pending: str | None = None
        self.results: list[dict] = []

    async def redirect_handler(self, url: str) -> None:
        self.pending = url

    async def callback_handler(self) -> AuthorizationCodeResult:
        url, self.pending = self.pending, None
        self.h.check("the SDK produced an authorization URL", url)
        q = parse_qs(urlparse(url).query)
        self.h.check(
            "authorization request has PKCE S256, state, resource and scope",
            q.get("code_challenge_method") == ["S256"] and q.get("state") and q.get("resource") and q.get("scope"),
            {"scope": q.get("scope"), "resource": q.get("resource")},
        )
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(HERE.parent / "browser.mjs"),
            url,
            "--callback",
            self.callback,
            "--username",
            self.username,
            "--password",
            self.password,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        for line in err.decode().splitlines():
            try:
                self.h.log(json.loads(line))
            except ValueError:
                print(f"  browser: {line}", file=sys.stderr)
        self.h.check("browser reached the callback", proc.returncode == 0, err.decode()[-800:] if proc.returncode else None)
        result = json.loads(out.decode().strip().splitlines()[-1])
        self.results.append(result)
        params = {k: v[0] for k, v in parse_qs(urlparse(result["callback"]).query).items()}
        self.h.check(
            "authorization response has a code and iss = issuer",
            params.get("code") and params.get("iss") == self.h.issuer,
            {"pages": result["pages"], "error": params.get("error"), "iss": params.get("iss")},
        )
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))


class CimdServer:
    """Serves the client's metadata document over https on a loopback port."""

    def __init__(self, h: Harness, cert: str, key: str):
        self.doc: dict = {}
        h_ = h
        doc_ref = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                ok = self.path == "/client.json"
                h_.log({"who": "cimd-server", "method": "GET", "url": doc_ref.url, "status": 200 if ok else 404})
                body = json.dumps(doc_ref.doc).encode() if ok else b""
                self.send_response(200 if ok else 404)
                self.send_header("content-type", "application/json")
                self.send_header("cache-control", "max-age=60")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/client.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


async def text_of(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def interactive(h: Harness, args: argparse.Namespace, cimd: CimdServer | None) -> None:
    callback = f"http://127.0.0.1:{free_port()}/callback"
    browser = Browser(h, callback, args.username, args.password)
    storage = MemoryStorage()
    metadata = OAuthClientMetadata(
        client_name=f"Warden interop ({h.tag})",
        redirect_uris=[callback],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )
    if cimd:
        cimd.doc = {
            "client_id": cimd.url,
            "client_name": f"Warden interop ({h.tag})",
            "redirect_uris": [callback],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
    provider = OAuthClientProvider(
        server_url=h.mcp,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
        client_metadata_url=cimd.url if cimd else None,
    )
    http = httpx2.AsyncClient(
        auth=provider,
        timeout=httpx2.Timeout(30, read=300),
        event_hooks={"request": [h.on_request], "response": [h.on_response]},
    )
    async with http, Client(streamable_http_client(h.mcp, http_client=http)) as client:
        first = h.since(0)
        h.check(
            "first request to the MCP server answered 401 with resource_metadata",
            any(e["url"].startswith(h.mcp) and e.get("status") == 401 and 'resource_metadata="' in e.get("wwwAuthenticate", "") for e in first),
        )
        # The PRM is wherever the challenge points: Warden hosts it for mcp-server.mjs, FastMCP serves its own.
        challenge = next((e.get("wwwAuthenticate", "") for e in first if e["url"].startswith(h.mcp) and e.get("status") == 401), "")
        prm_url = challenge.partition('resource_metadata="')[2].partition('"')[0]
        h.check("PRM fetched from the challenge's resource_metadata URL (200)", prm_url and any(e["url"] == prm_url and e.get("status") == 200 for e in first), prm_url)
        if args.prm:
            h.check(f"the challenge names the expected PRM {args.prm}", prm_url == args.prm, prm_url)
        # From Warden (at the issuer's origin, its path appended: RFC 8414 §3.1), not a copy an MCP server serves.
        as_origin = urlparse(h.issuer)
        as_metadata = f"{as_origin.scheme}://{as_origin.netloc}/.well-known/oauth-authorization-server"
        h.check("AS metadata fetched from Warden (200)", any(e["url"].startswith(as_metadata) and e.get("status") == 200 for e in first))
        reg = next((e for e in first if h.is_warden(e) and e["url"].endswith("/register")), None)
        if cimd:
            h.check("no dynamic registration (client_id is the metadata document URL)", reg is None and storage.client_info.client_id == cimd.url)
        else:
            h.check("dynamic registration answered 201", reg and reg.get("status") == 201, reg)
        tok = next((e for e in first if h.is_warden(e) and e["url"].endswith("/token")), None)
        h.check("authorization_code exchange answered 200", tok and tok.get("status") == 200 and "grant_type=authorization_code" in tok.get("body", ""), tok)
        first_scope = ["mcp:read", "mcp:write"] if args.no_step_up else ["mcp:read"]
        h.check(f"consent listed {' '.join(first_scope)}", sorted((browser.results[0].get("consent") or {}).get("new", [])) == first_scope, browser.results[0].get("consent"))
        at1 = storage.tokens.access_token
        c1 = claims(at1)
        h.check(
            f"access token: iss, aud, scope {' '.join(first_scope)}, client_id",
            c1["iss"] == h.issuer and c1["aud"] == h.mcp and sorted(c1["scope"].split()) == first_scope and c1["client_id"] == storage.client_info.client_id,
            c1,
        )
        h.check("refresh token issued", storage.tokens.refresh_token)

        r1 = await client.call_tool("read_notes", {})
        h.check("read_notes succeeded", not r1.is_error and "first note" in await text_of(r1), await text_of(r1))

        # refresh: the Python SDK refreshes ahead of the request once expires_in has passed
        wait = max(0.0, c1["exp"] - time.time()) + 1.5
        print(f"[{h.tag}] waiting {round(wait)} s for the access token to expire", file=sys.stderr)
        await asyncio.sleep(wait)
        mark = len(h.http_log)
        r2 = await client.call_tool("read_notes", {})
        rt = next((e for e in h.since(mark) if h.is_warden(e) and e["url"].endswith("/token")), None)
        h.check("refresh_token grant answered 200", rt and rt.get("status") == 200 and "grant_type=refresh_token" in rt.get("body", ""), rt)
        h.check("read_notes succeeded after refresh", not r2.is_error, await text_of(r2))
        h.check("a new access token", storage.tokens.access_token != at1)

        if args.no_step_up:
            mark = len(h.http_log)
            r3 = await client.call_tool("write_note", {"text": f"from {h.tag}"})
            h.check("write_note succeeded with the first grant", not r3.is_error and "stored note" in await text_of(r3), await text_of(r3))
            h.check("no 403 and no new authorization", not any(e.get("status") == 403 or (h.is_warden(e) and "/authorize" in e["url"]) for e in h.since(mark)))
            return

        # step-up
        mark = len(h.http_log)
        r3 = await client.call_tool("write_note", {"text": f"from {h.tag}"})
        steps = h.since(mark)
        h.check(
            "step-up: 403 insufficient_scope with scope=\"mcp:read mcp:write\"",
            any(e.get("status") == 403 and "insufficient_scope" in e.get("wwwAuthenticate", "") for e in steps),
        )
        consent = browser.results[-1].get("consent") or {}
        h.check(
            "step-up consent showed mcp:write as new, mcp:read as already allowed",
            consent.get("new") == ["mcp:write"] and "mcp:read" in consent.get("granted", []),
            consent,
        )
        h.check("write_note succeeded after step-up", not r3.is_error and "stored note" in await text_of(r3), await text_of(r3))
        scope = claims(storage.tokens.access_token)["scope"]
        h.check("stepped-up token carries mcp:read mcp:write", sorted(scope.split()) == ["mcp:read", "mcp:write"], scope)


async def client_credentials(h: Harness, args: argparse.Namespace) -> None:
    storage = MemoryStorage()
    provider = ClientCredentialsOAuthProvider(
        server_url=h.mcp,
        storage=storage,
        client_id=args.client_id,
        client_secret=args.client_secret,
        scope="mcp:read",
        issuer=h.issuer,
    )
    http = httpx2.AsyncClient(
        auth=provider,
        timeout=httpx2.Timeout(30, read=300),
        event_hooks={"request": [h.on_request], "response": [h.on_response]},
    )
    async with http, Client(streamable_http_client(h.mcp, http_client=http)) as client:
        tok = next((e for e in h.http_log if h.is_warden(e) and e["url"].endswith("/token")), None)
        h.check(
            "client_credentials grant answered 200 (client_secret_basic)",
            tok and tok.get("status") == 200 and "grant_type=client_credentials" in tok.get("body", "") and tok.get("authorization", "").startswith("Basic"),
            tok,
        )
        c = claims(storage.tokens.access_token)
        h.check("token: aud = MCP server, scope mcp:read, sub = client", c["aud"] == h.mcp and c["scope"] == "mcp:read" and c["sub"] == args.client_id, c)
        r = await client.call_tool("read_notes", {})
        h.check("read_notes succeeded", not r.is_error, await text_of(r))
    # write_note needs mcp:write, which this client may not have: the SDK steps up (asking for the
    # union of scopes with client_credentials), Warden refuses it, and the SDK's session fails.
    mark = len(h.http_log)
    outcome = None
    http = httpx2.AsyncClient(
        auth=provider,
        timeout=httpx2.Timeout(30, read=300),
        event_hooks={"request": [h.on_request], "response": [h.on_response]},
    )
    try:
        async with http, Client(streamable_http_client(h.mcp, http_client=http)) as client:
            r2 = await client.call_tool("write_note", {"text": "agent"})
            outcome = f"write_note returned is_error={r2.is_error}: {await text_of(r2)}"
    except CheckFailed:
        raise
    except BaseException as e:  # noqa: BLE001
        outcome = repr(e)[:300]
    t = next((x for x in h.since(mark) if h.is_warden(x) and x["url"].endswith("/token")), None)
    h.check(
        "write_note refused: 403 insufficient_scope, the SDK asked for mcp:read mcp:write, Warden answered invalid_scope",
        t and t.get("status") == 400 and "invalid_scope" in t.get("response", "") and "mcp:write" in t.get("body", ""),
        {"outcome": outcome, "token": t},
    )


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", required=True)
    p.add_argument("--mcp", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--username", default="alice")
    p.add_argument("--password", default=os.environ.get("WARDEN_PASSWORD"))
    p.add_argument("--client-id")
    p.add_argument("--client-secret")
    p.add_argument("--cimd-cert")
    p.add_argument("--cimd-key")
    p.add_argument("--log")
    p.add_argument("--prm", help="where the PRM must be fetched from (an MCP server serving its own); default: Warden")
    p.add_argument("--no-step-up", action="store_true")
    args = p.parse_args()
    h = Harness(f"py:{args.scenario}", args.issuer, args.mcp, args.log)
    return await h.run(scenario(h, args))


async def scenario(h: Harness, args: argparse.Namespace) -> None:
    if args.scenario == "dcr":
        await interactive(h, args, None)
    elif args.scenario == "cimd":
        cimd = CimdServer(h, args.cimd_cert, args.cimd_key)
        try:
            await interactive(h, args, cimd)
            h.check("Warden fetched the metadata document", any(e["who"] == "cimd-server" and e.get("status") == 200 for e in h.http_log))
        finally:
            cimd.close()
    elif args.scenario == "client-credentials":
        await client_credentials(h, args)
    else:
        raise SystemExit(f"unknown scenario {args.scenario}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

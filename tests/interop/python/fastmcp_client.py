"""FastMCP's own OAuth client (fastmcp 4.1.6 `fastmcp.client.auth.OAuth`), unpatched, against an
MCP server protected by Warden.

    python fastmcp_client.py --mcp URL --issuer URL --username U --password P [--log FILE] [--step-up]

Discovery, dynamic registration, browser consent, read_notes, refresh once the access token has
expired, then write_note. Against the FastMCP server the challenge asks for mcp:write up front
(FastMCP cannot make a client step up); with --step-up (a server whose challenge asks for
mcp:read and that answers write_note with 403 insufficient_scope, such as ts-sdk-server.mjs)
write_note takes a second authorization for mcp:write.

FastMCP opens the user's browser with `webbrowser.open` and then waits on its own loopback
callback server. The harness registers a `webbrowser` browser (no patching) that waits for that
callback port to listen and then runs `node ../browser.mjs URL --callback PREFIX`: headless
Chromium through Warden's sign-in and consent pages, whose redirect reaches FastMCP's callback
server like a real browser's would. The last stdout line is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx2
from client import Harness, claims
from fastmcp import Client
from fastmcp.client.auth import OAuth
from fastmcp.client.transports import StreamableHttpTransport

HERE = Path(__file__).resolve().parent


class InteropBrowser(webbrowser.BaseBrowser):
    """The user's browser as `webbrowser` sees it: browser.mjs, started once FastMCP's callback
    server listens (FastMCP opens the browser first and starts that server right after)."""

    def __init__(self, h: Harness, username: str, password: str):
        super().__init__("warden-interop")
        self.h = h
        self.username = username
        self.password = password
        self.opened: list[str] = []
        self.results: list[dict] = []
        self.errors: list[str] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:  # noqa: ARG002
        self.opened.append(url)
        t = threading.Thread(target=self._run, args=(url,), daemon=True)
        t.start()
        self.threads.append(t)
        return True

    def _run(self, url: str) -> None:
        callback = parse_qs(urlparse(url).query)["redirect_uri"][0]
        cb = urlparse(callback)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection((cb.hostname, cb.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        proc = subprocess.run(
            ["node", str(HERE.parent / "browser.mjs"), url, "--callback", callback, "--username", self.username, "--password", self.password],
            capture_output=True,
            text=True,
            timeout=120,
        )
        for line in proc.stderr.splitlines():
            try:
                self.h.log(json.loads(line))
            except ValueError:
                print(f"  browser: {line}", file=sys.stderr)
        if proc.returncode != 0:
            self.errors.append(proc.stderr[-800:])
            return
        self.results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    def wait(self) -> None:
        for t in self.threads:
            t.join(timeout=130)


async def text_of(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def scenario(h: Harness, args: argparse.Namespace) -> None:
    browser = InteropBrowser(h, args.username, args.password)
    webbrowser.register("warden-interop", None, browser, preferred=True)

    def http_factory(**kwargs) -> httpx2.AsyncClient:
        kwargs.setdefault("timeout", httpx2.Timeout(30, read=300))
        return httpx2.AsyncClient(event_hooks={"request": [h.on_request], "response": [h.on_response]}, **kwargs)

    # 1. discovery, registration, consent, token: FastMCP's defaults (callback on localhost,
    #    public client, in-memory token storage)
    # docs:start client
    oauth = OAuth(client_name="Warden interop (fastmcp)")  # no scopes=: the server's challenge decides
    # docs:end client
    transport = StreamableHttpTransport(h.mcp, auth=oauth, httpx_client_factory=http_factory)
    async with Client(transport) as client:
        browser.wait()
        first = h.since(0)
        h.check(
            "first request to the MCP server answered 401 with resource_metadata",
            any(e["url"].startswith(h.mcp) and e.get("status") == 401 and 'resource_metadata="' in e.get("wwwAuthenticate", "") for e in first),
        )
        challenge = next((e.get("wwwAuthenticate", "") for e in first if e["url"].startswith(h.mcp) and e.get("status") == 401), "")
        prm_url = challenge.partition('resource_metadata="')[2].partition('"')[0]
        h.check("PRM fetched from the challenge's resource_metadata URL (200)", prm_url and any(e["url"] == prm_url and e.get("status") == 200 for e in first), prm_url)
        # From Warden (at the issuer's origin, its path appended: RFC 8414 §3.1), not a copy an MCP server serves.
        as_origin = urlparse(h.issuer)
        as_metadata = f"{as_origin.scheme}://{as_origin.netloc}/.well-known/oauth-authorization-server"
        h.check("AS metadata fetched from Warden (200)", any(e["url"].startswith(as_metadata) and e.get("status") == 200 for e in first))
        reg = next((e for e in first if h.is_warden(e) and e["url"].endswith("/register")), None)
        h.check("dynamic registration answered 201 (public client, token_endpoint_auth_method none)", reg and reg.get("status") == 201 and '"none"' in reg.get("response", ""), reg)
        h.check("FastMCP opened the browser once", len(browser.opened) == 1 and not browser.errors, browser.errors or browser.opened)
        q = parse_qs(urlparse(browser.opened[0]).query)
        h.check(
            "authorization request has PKCE S256, state, resource and scope",
            q.get("code_challenge_method") == ["S256"] and q.get("state") and q.get("resource") == [h.mcp] and q.get("scope"),
            {"scope": q.get("scope"), "resource": q.get("resource"), "redirect_uri": q.get("redirect_uri")},
        )
        result = browser.results[0]
        cb = {k: v[0] for k, v in parse_qs(urlparse(result["callback"]).query).items()}
        h.check("authorization response has a code and iss = issuer", cb.get("code") and cb.get("iss") == h.issuer, {"pages": result["pages"], "iss": cb.get("iss"), "error": cb.get("error")})
        first_scopes = ["mcp:read"] if args.step_up else ["mcp:read", "mcp:write"]
        h.check(f"consent listed {' and '.join(first_scopes)}", sorted((result.get("consent") or {}).get("new", [])) == first_scopes, result.get("consent"))
        tok = next((e for e in first if h.is_warden(e) and e["url"].endswith("/token")), None)
        h.check("authorization_code exchange answered 200", tok and tok.get("status") == 200 and "grant_type=authorization_code" in tok.get("body", ""), tok)
        tokens = await oauth.token_storage_adapter.get_tokens()
        info = await oauth.token_storage_adapter.get_client_info()
        at1 = tokens.access_token
        c1 = claims(at1)
        h.check(
            f"access token: iss, aud, scope {' '.join(first_scopes)}, client_id",
            c1["iss"] == h.issuer and c1["aud"] == h.mcp and sorted(c1["scope"].split()) == first_scopes and c1["client_id"] == info.client_id,
            c1,
        )
        h.check("refresh token issued", tokens.refresh_token)

        # 2. a tool call
        r1 = await client.call_tool("read_notes", {})
        h.check("read_notes succeeded", not r1.is_error and "first note" in await text_of(r1), await text_of(r1))

        # 3. refresh once the access token has expired (the SDK underneath refreshes ahead of
        #    the request from expires_in)
        wait = max(0.0, c1["exp"] - time.time()) + 1.5
        print(f"[{h.tag}] waiting {round(wait)} s for the access token to expire", file=sys.stderr)
        await asyncio.sleep(wait)
        mark = len(h.http_log)
        r2 = await client.call_tool("read_notes", {})
        rt = next((e for e in h.since(mark) if h.is_warden(e) and e["url"].endswith("/token")), None)
        h.check("refresh_token grant answered 200", rt and rt.get("status") == 200 and "grant_type=refresh_token" in rt.get("body", ""), rt)
        h.check("read_notes succeeded after refresh", not r2.is_error, await text_of(r2))
        h.check("a new access token", (await oauth.token_storage_adapter.get_tokens()).access_token != at1)

        mark = len(h.http_log)
        r3 = await client.call_tool("write_note", {"text": f"from {h.tag}"})
        h.check("write_note succeeded", not r3.is_error and "stored note" in await text_of(r3), await text_of(r3))
        if not args.step_up:
            # 4. the server's challenge asked for mcp:write too, so no step-up is needed
            h.check("no new authorization and no 403", not any(e.get("status") == 403 or (h.is_warden(e) and "/authorize" in e["url"]) for e in h.since(mark)))
            return
        # 4. step-up: 403 insufficient_scope, a second browser authorization for mcp:write
        browser.wait()
        later = h.since(mark)
        h.check("write_note first answered 403 insufficient_scope", any(e["url"].startswith(h.mcp) and e.get("status") == 403 and "insufficient_scope" in e.get("wwwAuthenticate", "") for e in later))
        h.check("FastMCP opened the browser a second time", len(browser.opened) == 2 and len(browser.results) == 2 and not browser.errors, browser.errors or browser.opened)
        h.check("the second consent asked only for mcp:write", (browser.results[-1].get("consent") or {}).get("new") == ["mcp:write"], browser.results[-1].get("consent"))
        c3 = claims((await oauth.token_storage_adapter.get_tokens()).access_token)
        h.check("the new access token carries mcp:read and mcp:write", sorted(c3["scope"].split()) == ["mcp:read", "mcp:write"], c3)


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mcp", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--username", default="alice")
    p.add_argument("--password", default=os.environ.get("WARDEN_PASSWORD"))
    p.add_argument("--log")
    p.add_argument("--step-up", action="store_true")
    p.add_argument("--tag", default="fastmcp:fastmcp-client")
    args = p.parse_args()
    h = Harness(args.tag, args.issuer, args.mcp, args.log)
    warnings.filterwarnings("ignore", message="Using in-memory token storage")
    return await h.run(scenario(h, args))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

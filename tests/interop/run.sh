#!/usr/bin/env bash
# Interoperability harness: the official MCP SDK clients (TypeScript and Python), unpatched,
# against Warden and a small SDK-built MCP server that Warden protects; then the MCP conformance
# suite's authorization-server scenarios; then a FastMCP server (and FastMCP's own OAuth client)
# in front of a Warden with WARDEN_ISSUER_TRAILING_SLASH=1 (the fastmcp:* scenarios); then the
# admin console walked in Chromium on a Warden with no admin yet (console:walk).
#
#   tests/interop/run.sh
#
# Builds Warden (debug), installs the harness's npm packages and Python venv when missing, then
# for each backend (embedded SQLite; Postgres too when WARDEN_TEST_DATABASE_URL is set): starts
# Warden on a free loopback port with a fresh database, provisions it with the CLI, starts the
# MCP server and runs every client scenario (in py:id-jag the same Warden is the ID-JAG IdP; in
# py:workload, workload.py serves the test issuer's JWKS); then the same Warden behind an MCP
# server built with the TypeScript SDK's own server-side auth (ts-sdk-server.mjs, scenarios
# tsserver:*). Stops everything it started. Exit status is non-zero if any scenario failed; a
# failed scenario prints its HTTP log (method, URL, status, and the OAuth request/response bodies with secrets shortened).
#
# Environment:
#   WARDEN_TEST_DATABASE_URL  postgres://… admin URL: also run on a fresh Postgres database
#   INTEROP_ONLY              space-separated scenario names or patterns to run (e.g. "ts:dcr fastmcp:*")
#   INTEROP_SKIP              space-separated scenario names or patterns to skip
#   INTEROP_KEEP=1            keep the work directory (logs, databases) even on success
#   INTEROP_VERBOSE=1         print every client's HTTP log, not only failed ones
#   INTEROP_SCREENSHOTS=DIR   console:walk saves its screenshots in DIR/<backend>/
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STARTED=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-interop.XXXXXX")
PASSWORD="interop-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
TTL=10
PIDS=()
PG_DATABASES=()
FAILED=()
PASSED=()
CLIENT_TIMEOUT=240
SUMMARY_PY='
import json, sys
d = json.load(sys.stdin)
print(str(d["checks"]) + " checks" + ("; notes: " + " | ".join(d["notes"]) if d["notes"] else ""))
'

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    for db in "${PG_DATABASES[@]}"; do
        psql -q "$WARDEN_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    if [[ $status -eq 0 && -z "${INTEROP_KEEP:-}" ]]; then
        rm -rf "$WORK"
    else
        echo "work directory kept: $WORK" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

json_field() { # json_field FIELD < json
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

wait_for_url() { # wait_for_url URL PID LOG
    for _ in $(seq 1 150); do
        if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "process $2 exited; its log:" >&2
            tail -n 30 "$3" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "timed out waiting for $1" >&2
    tail -n 30 "$3" >&2
    return 1
}

# Each word of INTEROP_ONLY / INTEROP_SKIP is a scenario name or a shell pattern ("fastmcp:*").
wanted() {
    local name=$1 pattern only skip
    read -ra only <<< "${INTEROP_ONLY:-}"
    read -ra skip <<< "${INTEROP_SKIP:-}"
    if [[ ${#only[@]} -gt 0 ]]; then
        local hit=
        for pattern in "${only[@]}"; do [[ $name == $pattern ]] && hit=1; done
        [[ -n $hit ]] || return 1
    fi
    for pattern in "${skip[@]}"; do [[ $name == $pattern ]] && return 1; done
    return 0
}

any_wanted() { # any_wanted NAME...: whether a leg has anything to run
    local name
    for name in "$@"; do wanted "$name" && return 0; done
    return 1
}

# ------------------------------------------------------------------ install
if [[ ! -d "$HERE/node_modules" || "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]]; then
    say "npm ci (tests/interop)"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
VENV="$HERE/python/.venv"
if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$HERE/python/requirements.txt" "$VENV/.requirements.txt"; then
    say "python venv + pip install -r requirements.txt"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/python/requirements.txt"
    cp "$HERE/python/requirements.txt" "$VENV/.requirements.txt"
fi
[[ -x /usr/bin/chromium || -n "${CHROMIUM:-}" ]] || { echo "Chromium is needed: apt-get install chromium" >&2; exit 1; }

# ------------------------------------------------------------------ build
say "cargo build (debug)"
(cd "$ROOT" && cargo build --bin warden)
# A private copy: a concurrent build in the same target directory cannot swap it mid-run.
cp "$ROOT/target/debug/warden" "$WORK/warden"
WARDEN="$WORK/warden"

# ------------------------------------------------------------------ TLS for the metadata documents
# Client ID Metadata Document URLs must be https (both SDKs refuse anything else), so the clients
# serve theirs on https://127.0.0.1 with a certificate from this throwaway CA, which Warden's
# outbound fetcher is told to trust through SSL_CERT_FILE.
mkdir -p "$WORK/tls"
(
    cd "$WORK/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 \
        -subj "/CN=Warden interop test CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
        -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' > leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 1 -extfile leaf.ext 2>/dev/null
)

# ------------------------------------------------------------------ one backend
run_client() { # run_client BACKEND NAME COMMAND...
    local backend=$1 name=$2
    shift 2
    wanted "$name" || return 0
    local out="$WORK/$backend/${name//:/-}.out"
    local t0=$(date +%s)
    if timeout "$CLIENT_TIMEOUT" "$@" > "$out" 2>&1; then
        PASSED+=("$backend $name")
        printf '  \033[32mPASS\033[0m %-24s %3ss  %s\n' "$name" "$(( $(date +%s) - t0 ))" "$(tail -n 1 "$out" | python3 -c "$SUMMARY_PY" 2>/dev/null)" >&2
        if [[ -n "${INTEROP_VERBOSE:-}" ]]; then sed 's/^/      /' "$out" >&2; fi
    else
        local rc=$?
        FAILED+=("$backend $name")
        printf '  \033[31mFAIL\033[0m %-24s %3ss  (exit %s)\n' "$name" "$(( $(date +%s) - t0 ))" "$rc" >&2
        sed 's/^/      /' "$out" >&2
        echo "      ---- warden log (last 40 lines) ----" >&2
        tail -n 40 "$WORK/$backend/warden.log" | sed 's/^/      /' >&2
        local server_log=${SERVER_LOG:-$WORK/$backend/mcp-server.log}
        echo "      ---- $(basename "$server_log" .log) log (last 20 lines) ----" >&2
        tail -n 20 "$server_log" | sed 's/^/      /' >&2
    fi
}

# The TypeScript SDK's server-side auth (ts-sdk-server.mjs: mcpAuthMetadataRouter serving its own
# PRM, requireBearerAuth with a jose verifier) in front of the backend's running Warden, with its
# own resource registered by the CLI. Called from run_backend, whose `w` (the CLI with the
# backend's environment) it uses. FOREIGN_* is a client_credentials client of another resource.
run_tsserver_leg() { # run_tsserver_leg BACKEND ISSUER FOREIGN_RESOURCE FOREIGN_ID FOREIGN_SECRET
    local backend=$1 issuer=$2 foreign_resource=$3 foreign_id=$4 foreign_secret=$5
    any_wanted tsserver:ts-dcr tsserver:py-dcr tsserver:fastmcp-client tsserver:foreign-token tsserver:check || return 0
    local dir="$WORK/$backend" port
    port=$(free_port)
    local mcp="http://127.0.0.1:$port/mcp"
    local prm="http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"
    say "backend $backend: TypeScript SDK server $mcp"
    w resource create --uri "$mcp" --name "Interop notes (TypeScript SDK server)" --scopes "mcp:read mcp:write" > /dev/null
    local agent agent_id agent_secret
    agent=$(w client create --name "interop agent (ts-sdk-server)" --grant-type client_credentials --resource "$mcp" --scope "mcp:read")
    agent_id=$(json_field client_id <<< "$agent")
    agent_secret=$(json_field client_secret <<< "$agent")

    node "$HERE/ts-sdk-server.mjs" --port "$port" --issuer "$issuer" --resource "$mcp" > "$dir/ts-sdk-server.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_for_url "$prm" "$pid" "$dir/ts-sdk-server.log" || return 1

    local common=(--mcp "$mcp" --issuer "$issuer" --prm "$prm" --username alice --password "$PASSWORD" --log "$dir/http.jsonl")
    local SERVER_LOG="$dir/ts-sdk-server.log" # run_client prints this log when a scenario fails
    run_client "$backend" tsserver:ts-dcr node "$HERE/ts-client.mjs" --scenario dcr --ttl "$TTL" "${common[@]}"
    run_client "$backend" tsserver:py-dcr "$VENV/bin/python" "$HERE/python/client.py" --scenario dcr "${common[@]}"
    run_client "$backend" tsserver:foreign-token node "$HERE/foreign-token.mjs" --tag tsserver:foreign-token \
        --mcp "$mcp" --issuer "$issuer" --prm "$prm" --log "$dir/http.jsonl" \
        --foreign-resource "$foreign_resource" --foreign-client-id "$foreign_id" --foreign-client-secret "$foreign_secret" \
        --client-id "$agent_id" --client-secret "$agent_secret"
    run_client "$backend" tsserver:fastmcp-client "$VENV/bin/python" "$HERE/python/fastmcp_client.py" --step-up --tag tsserver:fastmcp-client \
        --mcp "$mcp" --issuer "$issuer" --username alice --password "$PASSWORD" --log "$dir/http.jsonl"
    # Warden's own probe of the server (docs/integrations/README.md, job 6): every point passes.
    run_client "$backend" tsserver:check env "${env[@]}" "$WARDEN" resource check "$mcp"

    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

run_backend() { # run_backend NAME [DATABASE_URL]
    local backend=$1 database_url=${2:-}
    local dir="$WORK/$backend"
    mkdir -p "$dir/data"
    local wport mport
    wport=$(free_port)
    mport=$(free_port)
    while [[ "$mport" == "$wport" ]]; do mport=$(free_port); done
    local issuer="http://127.0.0.1:$wport"
    local mcp="http://127.0.0.1:$mport/mcp"
    say "backend $backend: Warden $issuer, MCP server $mcp"

    local env=(
        WARDEN_DATA_DIR="$dir/data"
        WARDEN_BIND="127.0.0.1:$wport"
        WARDEN_ACCESS_TOKEN_TTL="$TTL"
        WARDEN_DEV_ALLOW_LOOPBACK_FETCH=1
        SSL_CERT_FILE="$WORK/tls/ca.pem"
        RUST_LOG="${RUST_LOG:-info}"
        NO_COLOR=1
    )
    if [[ -n "$database_url" ]]; then
        env+=(DATABASE_URL="$database_url" WARDEN_SECRET_KEY="interop-secret-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')")
    fi
    w() { env "${env[@]}" "$WARDEN" "$@"; }

    # Provision exactly as the README shows.
    local resource cc
    resource=$(w resource create --uri "$mcp" --name "Interop notes" --scopes "mcp:read mcp:write")
    local prm
    prm=$(json_field resource_metadata <<< "$resource")
    printf '%s\n' "$PASSWORD" | w user add alice --password-stdin > /dev/null
    cc=$(w client create --name "interop agent" --grant-type client_credentials --resource "$mcp" --scope "mcp:read")
    local cc_id cc_secret
    cc_id=$(json_field client_id <<< "$cc")
    cc_secret=$(json_field client_secret <<< "$cc")
    # The conformance suite's client: pre-registered, public, fixed loopback callback.
    local cport conf_id
    cport=$(free_port)
    conf_id=$(w client create --name "MCP conformance suite" --grant-type authorization_code \
        --redirect-uri "http://127.0.0.1:$cport/callback" --public --resource "$mcp" | json_field client_id)

    # py:id-jag (SEP-990): this Warden is the enterprise IdP too. The app client signs alice in
    # with openid and exchanges her ID token for an ID-JAG naming the agent (docs/id-jag-issuer.md);
    # Warden trusts its own issuer as an ID-JAG IdP (docs/id-jag.md), and the agent redeems it.
    local jag_app jag_agent jag_cb
    jag_cb="http://127.0.0.1:$(free_port)/callback"
    jag_app=$(w client create --name "enterprise app (IdP side)" --grant-type authorization_code \
        --grant-type urn:ietf:params:oauth:grant-type:token-exchange --redirect-uri "$jag_cb" \
        --resource "$mcp" --scope "mcp:read")
    jag_agent=$(w client create --name "enterprise agent (ID-JAG)" --grant-type urn:ietf:params:oauth:grant-type:jwt-bearer \
        --resource "$mcp" --scope "mcp:read")
    w idjag allow --client "$(json_field client_id <<< "$jag_app")" --audience "$issuer" --resource "$mcp" \
        --remote-client-id "$(json_field client_id <<< "$jag_agent")" --scopes "mcp:read" > /dev/null
    local jag_idp alice_id
    jag_idp=$(w idp add --issuer "$issuer" --jwks-uri "$issuer/jwks.json" --alg ES256 | json_field id)
    # The ID-JAG's sub is alice's user id here. Warden maps an IdP's sub to a user by a link,
    # or by a verified email, which a local account has not: the admin links it.
    alice_id=$(w user list | python3 -c 'import json, sys; print(next(u["id"] for u in json.load(sys.stdin) if u["username"] == "alice"))')
    w idp link "$jag_idp" --subject "$alice_id" --user alice > /dev/null
    # py:workload (SEP-1933): a secretless client and a rule for the test issuer whose JWKS
    # workload.py serves on loopback.
    local wl_port wl_client
    wl_port=$(free_port)
    wl_client=$(w client create --name "interop workload" --public --grant-type urn:ietf:params:oauth:grant-type:jwt-bearer \
        --resource "$mcp" --scope "mcp:read" | json_field client_id)
    w workload add --client "$wl_client" --issuer "http://127.0.0.1:$wl_port" --jwks-uri "http://127.0.0.1:$wl_port/jwks" \
        --alg ES256 --subject 'spiffe://interop.test/ns/agents/*' > /dev/null

    env "${env[@]}" "$WARDEN" serve > "$dir/warden.log" 2>&1 &
    local wpid=$!
    PIDS+=("$wpid")
    wait_for_url "$issuer/readyz" "$wpid" "$dir/warden.log"

    node "$HERE/mcp-server.mjs" --port "$mport" --issuer "$issuer" --resource-metadata "$prm" > "$dir/mcp-server.log" 2>&1 &
    local mpid=$!
    PIDS+=("$mpid")
    for _ in $(seq 1 100); do
        grep -qs READY "$dir/mcp-server.log" && break
        kill -0 "$mpid" 2>/dev/null || { cat "$dir/mcp-server.log" >&2; return 1; }
        sleep 0.1
    done

    local common=(--mcp "$mcp" --issuer "$issuer" --username alice --password "$PASSWORD" --log "$dir/http.jsonl")
    local tls=(--cimd-cert "$WORK/tls/leaf.pem" --cimd-key "$WORK/tls/leaf.key")
    local ts=(node "$HERE/ts-client.mjs")
    local py=("$VENV/bin/python" "$HERE/python/client.py")
    run_client "$backend" ts:dcr-example "${ts[@]}" --scenario dcr-example "${common[@]}"
    run_client "$backend" ts:dcr "${ts[@]}" --scenario dcr --ttl "$TTL" "${common[@]}"
    run_client "$backend" ts:dcr-norefresh "${ts[@]}" --scenario dcr-norefresh "${common[@]}"
    run_client "$backend" ts:parallel-refresh "${ts[@]}" --scenario parallel-refresh --ttl "$TTL" "${common[@]}"
    run_client "$backend" ts:cimd "${ts[@]}" --scenario cimd --ttl "$TTL" "${tls[@]}" "${common[@]}"
    run_client "$backend" ts:client-credentials "${ts[@]}" --scenario client-credentials --client-id "$cc_id" --client-secret "$cc_secret" "${common[@]}"
    run_client "$backend" py:dcr "${py[@]}" --scenario dcr "${common[@]}"
    run_client "$backend" py:cimd "${py[@]}" --scenario cimd "${tls[@]}" "${common[@]}"
    run_client "$backend" conformance node "$HERE/conformance.mjs" --issuer "$issuer" --client-id "$conf_id" --port "$cport" \
        --username alice --password "$PASSWORD" --out "$dir/conformance" --log "$dir/http.jsonl"
    run_client "$backend" py:client-credentials "${py[@]}" --scenario client-credentials --client-id="$cc_id" --client-secret="$cc_secret" "${common[@]}"
    run_client "$backend" py:id-jag "$VENV/bin/python" "$HERE/python/id_jag.py" --mcp "$mcp" --issuer "$issuer" \
        --app-id "$(json_field client_id <<< "$jag_app")" --app-secret "$(json_field client_secret <<< "$jag_app")" \
        --agent-id "$(json_field client_id <<< "$jag_agent")" --agent-secret "$(json_field client_secret <<< "$jag_agent")" \
        --callback "$jag_cb" --username alice --password "$PASSWORD" --log "$dir/http.jsonl"
    run_client "$backend" py:workload "$VENV/bin/python" "$HERE/python/workload.py" --mcp "$mcp" --issuer "$issuer" \
        --jwks-port "$wl_port" --client-id "$wl_client" --log "$dir/http.jsonl"
    run_client "$backend" check:mcp-server env "${env[@]}" "$WARDEN" resource check "$mcp"

    run_tsserver_leg "$backend" "$issuer" "$mcp" "$cc_id" "$cc_secret"

    kill "$mpid" "$wpid" 2>/dev/null || true
    wait "$mpid" "$wpid" 2>/dev/null || true
}

# ------------------------------------------------------------------ the FastMCP leg
# A FastMCP server (python/fastmcp_server.py: FastMCP's JWTVerifier + RemoteAuthProvider, set up
# as docs/integrations/fastmcp.md says) in front of its own Warden, which runs with
# WARDEN_ISSUER_TRAILING_SLASH=1 because FastMCP writes the issuer into its resource metadata as
# http://127.0.0.1:PORT/ (pydantic AnyHttpUrl) and the Python SDK compares issuers exactly.
FASTMCP_SCENARIOS=(fastmcp:fastmcp-client fastmcp:py-dcr fastmcp:ts-dcr fastmcp:foreign-token fastmcp:pitfalls fastmcp:check)

run_fastmcp_backend() { # run_fastmcp_backend BACKEND [DATABASE_URL]
    local backend=$1 database_url=${2:-}
    any_wanted "${FASTMCP_SCENARIOS[@]}" || return 0
    local dir="$WORK/$backend-fastmcp"
    mkdir -p "$dir/data"
    local wport mport oport
    wport=$(free_port)
    mport=$(free_port)
    oport=$(free_port)
    local issuer="http://127.0.0.1:$wport/"
    local mcp="http://127.0.0.1:$mport/mcp"
    local other="http://127.0.0.1:$oport/other"
    say "backend $backend, FastMCP leg: Warden $issuer, FastMCP server $mcp"

    local env=(
        WARDEN_DATA_DIR="$dir/data"
        WARDEN_BIND="127.0.0.1:$wport"
        WARDEN_ISSUER_TRAILING_SLASH=1
        WARDEN_ACCESS_TOKEN_TTL="$TTL"
        WARDEN_DEV_ALLOW_LOOPBACK_FETCH=1
        RUST_LOG="${RUST_LOG:-info}"
        NO_COLOR=1
    )
    if [[ -n "$database_url" ]]; then
        env+=(DATABASE_URL="$database_url" WARDEN_SECRET_KEY="interop-secret-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')")
    fi
    wf() { env "${env[@]}" "$WARDEN" "$@"; }

    # Provision as the guide says: the FastMCP server's resource, plus another resource whose
    # tokens the FastMCP server must refuse, and an agent for each.
    wf resource create --uri "$mcp" --name "Interop notes (FastMCP)" --scopes "mcp:read mcp:write" > /dev/null
    wf resource create --uri "$other" --name "Another MCP server" --scopes "mcp:read" > /dev/null
    printf '%s\n' "$PASSWORD" | wf user add alice --password-stdin > /dev/null
    local cc other_cc
    cc=$(wf client create --name "FastMCP agent" --grant-type client_credentials --resource "$mcp" --scope "mcp:read")
    other_cc=$(wf client create --name "another server's agent" --grant-type client_credentials --resource "$other" --scope "mcp:read")

    env "${env[@]}" "$WARDEN" serve > "$dir/warden.log" 2>&1 &
    local wpid=$!
    PIDS+=("$wpid")
    wait_for_url "${issuer}readyz" "$wpid" "$dir/warden.log"

    "$VENV/bin/python" "$HERE/python/fastmcp_server.py" --port "$mport" --issuer "$issuer" > "$dir/mcp-server.log" 2>&1 &
    local mpid=$!
    PIDS+=("$mpid")
    wait_for_url "http://127.0.0.1:$mport/.well-known/oauth-protected-resource/mcp" "$mpid" "$dir/mcp-server.log"

    local common=(--mcp "$mcp" --issuer "$issuer" --username alice --password "$PASSWORD" --log "$dir/http.jsonl")
    run_client "$backend-fastmcp" fastmcp:fastmcp-client "$VENV/bin/python" "$HERE/python/fastmcp_client.py" "${common[@]}"
    run_client "$backend-fastmcp" fastmcp:py-dcr "$VENV/bin/python" "$HERE/python/client.py" --scenario dcr --no-step-up "${common[@]}"
    run_client "$backend-fastmcp" fastmcp:ts-dcr node "$HERE/ts-client.mjs" --scenario dcr --no-step-up --ttl "$TTL" "${common[@]}"
    run_client "$backend-fastmcp" fastmcp:foreign-token "$VENV/bin/python" "$HERE/python/foreign_token.py" \
        --mcp "$mcp" --issuer "$issuer" --log "$dir/http.jsonl" \
        --client-id "$(json_field client_id <<< "$cc")" --client-secret "$(json_field client_secret <<< "$cc")" \
        --other-client-id "$(json_field client_id <<< "$other_cc")" --other-client-secret "$(json_field client_secret <<< "$other_cc")" \
        --other-resource "$other"
    run_client "$backend-fastmcp" fastmcp:pitfalls "$VENV/bin/python" "$HERE/python/fastmcp_pitfalls.py" \
        --mcp "$mcp" --issuer "$issuer" --log "$dir/http.jsonl" \
        --client-id "$(json_field client_id <<< "$cc")" --client-secret "$(json_field client_secret <<< "$cc")"
    run_client "$backend-fastmcp" fastmcp:check env "${env[@]}" "$WARDEN" resource check "$mcp"

    kill "$mpid" "$wpid" 2>/dev/null || true
    wait "$mpid" "$wpid" 2>/dev/null || true
}

# ------------------------------------------------------------------ the console walk
# The admin console in Chromium (console-walk.mjs) against a Warden of its own with no admin yet,
# so that Warden logs its one-time setup link; the walk starts mcp-server.mjs itself, with the
# metadata URL the console shows for the server it registers. INTEROP_SCREENSHOTS=DIR keeps the
# walk's screenshots (docs/console/ is made from the SQLite run's).
run_console_backend() { # run_console_backend BACKEND [DATABASE_URL]
    local backend=$1 database_url=${2:-}
    wanted console:walk || return 0
    local dir="$WORK/$backend-console"
    mkdir -p "$dir/data"
    local wport mport
    wport=$(free_port)
    mport=$(free_port)
    while [[ "$mport" == "$wport" ]]; do mport=$(free_port); done
    local issuer="http://127.0.0.1:$wport"
    local mcp="http://127.0.0.1:$mport/mcp"
    say "backend $backend, console leg: Warden $issuer, MCP server $mcp"

    local env=(
        WARDEN_DATA_DIR="$dir/data"
        WARDEN_BIND="127.0.0.1:$wport"
        WARDEN_ACCESS_TOKEN_TTL="$TTL"
        WARDEN_DEV_ALLOW_LOOPBACK_FETCH=1
        RUST_LOG="${RUST_LOG:-info}"
        NO_COLOR=1
    )
    if [[ -n "$database_url" ]]; then
        env+=(DATABASE_URL="$database_url" WARDEN_SECRET_KEY="interop-secret-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')")
    fi
    # A user who is not an admin: the one whose MCP client gets a grant.
    printf '%s\n' "$PASSWORD" | env "${env[@]}" "$WARDEN" user add alice --password-stdin > /dev/null

    env "${env[@]}" "$WARDEN" serve > "$dir/warden.log" 2>&1 &
    local wpid=$!
    PIDS+=("$wpid")
    wait_for_url "$issuer/readyz" "$wpid" "$dir/warden.log"

    local shots=()
    if [[ -n "${INTEROP_SCREENSHOTS:-}" ]]; then shots=(--screenshots "$INTEROP_SCREENSHOTS/$backend"); fi
    run_client "$backend-console" console:walk env "${env[@]}" node "$HERE/console-walk.mjs" \
        --issuer "$issuer" --warden-log "$dir/warden.log" --mcp "$mcp" \
        --username alice --password "$PASSWORD" --log "$dir/http.jsonl" "${shots[@]}"

    kill "$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
}

# create_pg_database: a fresh database on WARDEN_TEST_DATABASE_URL's server, dropped at exit; its
# URL in PG_URL.
create_pg_database() {
    local db="warden_interop_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    psql -q "$WARDEN_TEST_DATABASE_URL" -c "CREATE DATABASE $db" > /dev/null
    PG_DATABASES+=("$db")
    PG_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$WARDEN_TEST_DATABASE_URL" "$db")
}

run_backend sqlite
run_fastmcp_backend sqlite
run_console_backend sqlite

if [[ -n "${WARDEN_TEST_DATABASE_URL:-}" ]]; then
    db="warden_interop_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    psql -q "$WARDEN_TEST_DATABASE_URL" -c "CREATE DATABASE $db" > /dev/null
    PG_DATABASES+=("$db")
    pg_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$WARDEN_TEST_DATABASE_URL" "$db")
    run_backend postgres "$pg_url"
    if any_wanted "${FASTMCP_SCENARIOS[@]}"; then
        create_pg_database
        run_fastmcp_backend postgres "$PG_URL"
    fi
    if wanted console:walk; then
        create_pg_database
        run_console_backend postgres "$PG_URL"
    fi
fi

# ------------------------------------------------------------------ summary
say "summary: ${#PASSED[@]} passed, ${#FAILED[@]} failed in $(( $(date +%s) - STARTED )) s"
for f in "${FAILED[@]}"; do echo "  FAILED: $f" >&2; done
[[ ${#FAILED[@]} -eq 0 ]]

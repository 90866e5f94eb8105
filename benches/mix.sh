#!/usr/bin/env bash
# The mixed-flow load test: every flow interleaved (client credentials, introspection,
# authorization code, refresh, token exchange) for MIX_SECONDS (default 180) on Postgres,
# reporting throughput, p50/p99, errors (must be 0) and Warden's memory.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${WARDEN_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
WARDEN_BENCH_DATABASE_URL=$PG_URL WARDEN_BENCH_ONLY=postgres WARDEN_BENCH_PEER=0 \
  WARDEN_BENCH_MIX=${MIX_SECONDS:-180} cargo bench --bench load

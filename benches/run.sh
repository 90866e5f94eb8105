#!/usr/bin/env bash
# The benchmark suite in one command: installs the pinned peer (node oidc-provider),
# makes sure Postgres is up, and runs benches/load.rs (release build) on SQLite and on
# Postgres, side by side with the peer, then again on a seeded database.
#
#   benches/run.sh                      # everything (about 15 minutes on 2 cores)
#   WARDEN_BENCH_ROUNDS=1 WARDEN_BENCH_SECONDS=3 benches/run.sh   # a quick look
#
# Results are markdown tables on stdout; docs/performance.md holds the last run's.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null; then
  echo "node is required for the peer (apt-get install nodejs npm)" >&2
  exit 1
fi
npm ci --prefix benches/peer --no-audit --no-fund --loglevel=error

PG_URL=${WARDEN_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

WARDEN_BENCH_DATABASE_URL=$PG_URL WARDEN_BENCH_SEED=${WARDEN_BENCH_SEED:-1} \
  cargo bench --bench load

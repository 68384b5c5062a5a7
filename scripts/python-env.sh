#!/usr/bin/env bash
# Prints the path of a Python with a requirements file installed, creating it once in a virtual
# environment. Re-run cheaply: the environment is rebuilt only when the requirements change.
#
#   scripts/python-env.sh          examples/python/requirements.txt (pandas, pyarrow), in
#                                  $SKEWLESS_PYTHON_HOME (default ~/.cache/skewless/python)
#   scripts/python-env.sh bench    bench/requirements.txt (DuckDB, for `npm run bench -- historical`), in
#                                  ~/.cache/skewless/python-bench
#
# Needs python3 (>= 3.9) with venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-example}" in
  example) home="${SKEWLESS_PYTHON_HOME:-${HOME}/.cache/skewless/python}"; requirements="${root}/examples/python/requirements.txt" ;;
  bench) home="${HOME}/.cache/skewless/python-bench"; requirements="${root}/bench/requirements.txt" ;;
  *) echo "python-env: unknown environment \"$1\" (example or bench)" >&2; exit 2 ;;
esac
stamp="${home}/.requirements.sha256"
want="$(sha256sum "${requirements}" | cut -d' ' -f1)"
if [ ! -x "${home}/bin/python" ] || [ "$(cat "${stamp}" 2>/dev/null)" != "${want}" ]; then
  command -v python3 >/dev/null || { echo "python-env: python3 is required" >&2; exit 1; }
  echo "python-env: installing $(grep -v '^#' "${requirements}" | tr '\n' ' ')into ${home}" >&2
  rm -rf "${home}"
  python3 -m venv "${home}"
  "${home}/bin/pip" install --quiet --disable-pip-version-check -r "${requirements}" >&2
  echo "${want}" > "${stamp}"
fi
echo "${home}/bin/python"

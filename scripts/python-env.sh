#!/usr/bin/env bash
# Prints the path of a Python with examples/python/requirements.txt installed, creating it once in a
# virtual environment under $SKEWLESS_PYTHON_HOME (default ~/.cache/skewless/python). Re-run cheaply: the
# environment is rebuilt only when requirements.txt changes. Needs python3 (>= 3.9) with venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
home="${SKEWLESS_PYTHON_HOME:-${HOME}/.cache/skewless/python}"
requirements="${root}/examples/python/requirements.txt"
stamp="${home}/.requirements.sha256"
want="$(sha256sum "${requirements}" | cut -d' ' -f1)"
if [ ! -x "${home}/bin/python" ] || [ "$(cat "${stamp}" 2>/dev/null)" != "${want}" ]; then
  command -v python3 >/dev/null || { echo "python-env: python3 is required for examples/python" >&2; exit 1; }
  echo "python-env: installing $(grep -v '^#' "${requirements}" | tr '\n' ' ')into ${home}" >&2
  rm -rf "${home}"
  python3 -m venv "${home}"
  "${home}/bin/pip" install --quiet --disable-pip-version-check -r "${requirements}" >&2
  echo "${want}" > "${stamp}"
fi
echo "${home}/bin/python"

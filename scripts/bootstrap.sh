#!/usr/bin/env bash
# Create .venv with Bluelamp installed, needing only python3 on the machine.
# Usage: scripts/bootstrap.sh [uv sync options...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .tools/bin/uv ]; then
  echo "bootstrap: installing uv into .tools/"
  python3 -m venv .tools
  .tools/bin/pip install --quiet --disable-pip-version-check uv
fi
.tools/bin/uv sync --frozen --quiet --compile-bytecode "$@"

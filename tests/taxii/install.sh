#!/usr/bin/env bash
# Installs OASIS's reference TAXII 2.1 server, medallion, into a virtualenv under target/ for the
# TAXII tests (tests/taxii.rs). CI runs it from .ci/run; run it once by hand for local test runs.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="target/medallion-venv"
version="3.0.0"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import medallion, sys; sys.exit(medallion.__version__ != '$version')" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "medallion==$version"
"$venv/bin/python" -c "import medallion; print('medallion', medallion.__version__, 'in $venv')"

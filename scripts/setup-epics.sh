#!/usr/bin/env bash
# Installs what the EPICS tests need, idempotently and without prompts:
#   - Debian's libca-dev and libcom-dev (the C Channel Access client libraries epics-ca links);
#   - a Python venv at .venv with the pinned soft IOC (softioc), an independent CA client
#     (pyepics) and event-model (the document validators), from tests/epics/requirements.txt.
# Usage: scripts/setup-epics.sh            (from anywhere; works on the repository root)
# Afterwards: cargo test -p baton-host --features epics --test epics
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

if ! dpkg-query -W -f='${Status}\n' libca-dev libcom-dev 2>/dev/null | grep -c "install ok installed" | grep -qx 2; then
    say "installing libca-dev libcom-dev (apt)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libca-dev libcom-dev
fi

VENV=${BATON_EPICS_VENV:-.venv}
stamp="$VENV/.baton-epics-requirements"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating the Python venv $VENV"
    python3 -m venv "$VENV"
fi
if ! cmp -s tests/epics/requirements.txt "$stamp"; then
    say "installing tests/epics/requirements.txt into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r tests/epics/requirements.txt
    cp tests/epics/requirements.txt "$stamp"
fi
say "EPICS test dependencies ready (venv: $VENV)"

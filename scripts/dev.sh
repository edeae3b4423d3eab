#!/usr/bin/env bash
# One-command set-up for Caucus Night: creates .venv, installs the project, then runs a job.
#   bash scripts/dev.sh simulate   set up, then simulate Iowa 2020 caucus night (runs/iowa-2020/)
#   bash scripts/dev.sh test       set up (PostgreSQL and Chromium too, for the service tests),
#                                  then lint and run every test, slow ones included
set -euo pipefail
cd "$(dirname "$0")/.."

job=${1:-}
case "$job" in simulate|test) ;; *) echo "usage: bash scripts/dev.sh simulate|test" >&2; exit 2;; esac

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

case "$job" in
  simulate)
    .venv/bin/caucus simulate scenarios/iowa-2020.toml
    ;;
  test)
    # The service tests need PostgreSQL and a headless browser: install Debian's when missing.
    missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
      || missing+=(postgresql)
    if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
      apt-get update
      DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    fi
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/python -m pytest --durations=20  # the slowest 20 in the log: CI must stay under 20 minutes
    ;;
esac

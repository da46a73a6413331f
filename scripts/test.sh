#!/usr/bin/env bash
# Runs every test of the suite: installs what is missing (including Debian's
# chromium and a CJK font for browser tests), then every addon's ModuleTestCase
# and proteus scenarios, the hardware proxy's tests, the cross-module tests in
# tests/ and the translation check. Closing line: "N passed, N failed".
#   HUIYUAN_BACKEND=sqlite (default) or postgresql
#   HUIYUAN_PG_URI=postgresql://postgres@127.0.0.1:5432/
#   scripts/test.sh retail_member hw_proxy   only these parts
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh --test
exec .venv/bin/python scripts/run_tests.py "$@"

#!/usr/bin/env bash
# Installs everything the suite needs, idempotently: Python venv with the pinned
# requirements and every addon (editable), the hardware proxy, the sao web
# client from npm, and (with --test) Debian's chromium and a CJK font for the
# browser tests. Each step is skipped when its inputs did not change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1
STAMP_DIR="$ROOT/var/stamps"
mkdir -p "$STAMP_DIR"
log() { printf '[setup] %s\n' "$*"; }

# --- Debian packages (as root; a developer machine without root must have them)
need_apt=()
command -v msgfmt >/dev/null || need_apt+=(gettext)
command -v pg_dump >/dev/null || need_apt+=(postgresql-client)
if [ "$WITH_TEST" = 1 ]; then
    command -v chromium >/dev/null || need_apt+=(chromium)
    fc-list 2>/dev/null | grep -qi 'wenquanyi\|wqy' || need_apt+=(fonts-wqy-zenhei)
    command -v socat >/dev/null || need_apt+=(socat)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        log "apt-get install ${need_apt[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${need_apt[@]}" >/dev/null
    else
        log "missing Debian packages (install them as root): ${need_apt[*]}"
    fi
fi

# --- Python venv and packages
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$PY" -m venv .venv
fi
req_files=(requirements.txt)
for f in addons/*/pyproject.toml hw_proxy/pyproject.toml; do [ -f "$f" ] && req_files+=("$f"); done
req_hash=$(cat "${req_files[@]}" | sha256sum | cut -c1-16)
if [ "$(cat "$STAMP_DIR/python" 2>/dev/null)" != "$req_hash" ]; then
    log "installing Python packages (requirements.txt, addons, hw_proxy)"
    mkdir -p var/log
    pip_log="$ROOT/var/log/pip.log"
    : > "$pip_log"
    pip() { .venv/bin/python -m pip "$@" >>"$pip_log" 2>&1 || { tail -30 "$pip_log"; exit 1; }; }
    pip install --upgrade pip 'setuptools>=70.1' wheel
    pip install -r requirements.txt
    editables=()
    for d in addons/*/ hw_proxy/; do
        [ -f "$d/pyproject.toml" ] && editables+=(-e "$d")
    done
    pip install --no-build-isolation "${editables[@]}"
    echo "$req_hash" > "$STAMP_DIR/python"
fi

# --- sao (Tryton web client) from npm
SAO_VERSION=8.0.11
if [ ! -f "var/sao/package/index.html" ] || [ "$(cat "$STAMP_DIR/sao" 2>/dev/null)" != "$SAO_VERSION" ]; then
    log "installing sao $SAO_VERSION from npm"
    rm -rf var/sao && mkdir -p var/sao
    (cd var/sao && npm pack --silent "tryton-sao@$SAO_VERSION" >/dev/null 2>&1 \
        && tar xzf tryton-sao-*.tgz && rm -f tryton-sao-*.tgz \
        && cd package && npm install --silent --omit=dev --legacy-peer-deps --no-audit --no-fund >/dev/null 2>&1)
    echo "$SAO_VERSION" > "$STAMP_DIR/sao"
fi
# sao's own zh_CN is incomplete: install the completed catalogue from i18n/sao
sao_po_hash=$(sha256sum i18n/sao/zh_CN.po | cut -c1-16)
if [ "$(cat "$STAMP_DIR/sao-zh_CN" 2>/dev/null)" != "$SAO_VERSION-$sao_po_hash" ]; then
    .venv/bin/python i18n/sao.py install >/dev/null
    echo "$SAO_VERSION-$sao_po_hash" > "$STAMP_DIR/sao-zh_CN"
fi
log "ready"

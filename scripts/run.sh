#!/usr/bin/env bash
# Starts the whole Huiyuan system: installs what is missing, creates (or
# updates) the demo database with every suite module, zh_CN and en, fills it
# with demo data, then runs the Tryton server (back office + POS), its cron,
# and the hardware proxy with virtual devices. Ctrl-C stops everything.
#   HUIYUAN_DB=demo                  database name
#   TRYTOND_DATABASE__URI=sqlite://  or postgresql://user@host:5432/
#   HUIYUAN_PORT=8000                server port (127.0.0.1 only)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh

DB="${HUIYUAN_DB:-demo}"
PORT="${HUIYUAN_PORT:-8000}"
HW_PORT="${HUIYUAN_HW_PORT:-8400}"
export TRYTOND_DATABASE__URI="${TRYTOND_DATABASE__URI:-sqlite://}"
export TRYTOND_DATABASE__PATH="${TRYTOND_DATABASE__PATH:-$ROOT/var/db}"
export TRYTOND_WEB__ROOT="$ROOT/var/sao/package"
export TRYTOND_WEB__LISTEN="127.0.0.1:$PORT"
export TRYTOND_CONFIG="$ROOT/trytond.conf"
if [ "${TRYTOND_DATABASE__URI%%:*}" != sqlite ]; then
    # a cache change reaches every server process at once (NOTIFY); never on
    # SQLite (see trytond.conf)
    export TRYTOND_CACHE__CLEAN_TIMEOUT="${TRYTOND_CACHE__CLEAN_TIMEOUT:-0}"
fi
# where the POS finds the hardware proxy (its own HUIYUAN_HW_PORT)
export TRYTOND_RETAIL_POS__HW_PROXY_URL="${TRYTOND_RETAIL_POS__HW_PROXY_URL:-http://127.0.0.1:$HW_PORT}"
mkdir -p "$TRYTOND_DATABASE__PATH" var/log var/stamps
BIN="$ROOT/.venv/bin"
ADMIN_PASSWORD="${HUIYUAN_ADMIN_PASSWORD:-admin-demo}"

modules="$(grep -v '^#' data/modules.txt | tr '\n' ' ') $(for d in addons/*/; do [ -f "$d/tryton.cfg" ] && basename "$d"; done | tr '\n' ' ')"
addons_hash=$(find addons -type f \( -name '*.py' -o -name '*.xml' -o -name '*.cfg' -o -name '*.po' \) \
    -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)
stamp="var/stamps/db-$(echo "$TRYTOND_DATABASE__URI/$DB" | sha256sum | cut -c1-12)"

if [ ! -f "$stamp" ]; then
    echo "[run] creating database '$DB' on ${TRYTOND_DATABASE__URI%%:*}"
    if [ "${TRYTOND_DATABASE__URI%%:*}" = sqlite ]; then
        rm -f "$TRYTOND_DATABASE__PATH/$DB.sqlite"
        touch "$TRYTOND_DATABASE__PATH/$DB.sqlite"
    else
        "$BIN/python" - "$DB" <<'PY'
import sys
from trytond.transaction import Transaction
from trytond.tests.test_tryton import db_exist
name = sys.argv[1]
with Transaction().start(None, 0, close=True, autocommit=True) as t:
    if not db_exist(name):
        t.database.create(t.connection, name)
PY
    fi
    passfile=$(mktemp); printf '%s' "$ADMIN_PASSWORD" > "$passfile"
    TRYTONPASSFILE="$passfile" "$BIN/trytond-admin" -d "$DB" --all --email admin@huiyuan.example -l zh_CN en >var/log/admin.log 2>&1 \
        || { cat var/log/admin.log; rm -f "$passfile"; exit 1; }
    rm -f "$passfile"
    echo "init" > "$stamp"
fi
if [ "$(cat "$stamp")" != "$addons_hash" ]; then
    echo "[run] activating/updating modules: $modules"
    "$BIN/trytond-admin" -d "$DB" -u $modules --activate-dependencies -l zh_CN en \
        >var/log/admin.log 2>&1 || { tail -50 var/log/admin.log; exit 1; }
    echo "$addons_hash" > "$stamp"
fi
"$BIN/python" data/demo.py "$DB"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
if [ -x "$BIN/hw-proxy" ]; then
    "$BIN/hw-proxy" demo --port "$HW_PORT" --runtime-dir "$ROOT/var/hw_proxy" \
        --origin "http://127.0.0.1:$PORT" --origin "http://localhost:$PORT" \
        >var/log/hw_proxy.log 2>&1 &
    pids+=($!)
fi
"$BIN/trytond-cron" -d "$DB" >var/log/cron.log 2>&1 &
pids+=($!)
"$BIN/trytond" -d "$DB" >var/log/trytond.log 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.5
done
pairing=$(grep -o 'Pairing code[^*]*' var/log/hw_proxy.log 2>/dev/null | tail -1 || true)
pos_line=""
[ -d addons/retail_pos ] && pos_line="
    Cashier POS:         http://127.0.0.1:$PORT/$DB/retail_pos/"
cat <<MSG

  Huiyuan is running (database '$DB' on ${TRYTOND_DATABASE__URI%%:*}).
    Back office (sao):   http://127.0.0.1:$PORT/  (database: $DB)$pos_line
    Hardware proxy:      http://127.0.0.1:$HW_PORT/  (virtual printer, drawer, card reader, display, scale)
                         ${pairing:-see var/log/hw_proxy.log}
                         swipe a card: .venv/bin/hw-proxy swipe --runtime-dir var/hw_proxy 880000000001
  Logins:
    admin / $ADMIN_PASSWORD        administrator
    manager / huiyuan-demo    shop manager (中文)    manager_en / huiyuan-demo  (English)
    cashier / huiyuan-demo    cashier                accountant / huiyuan-demo  accountant
  Logs in var/log/. Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"

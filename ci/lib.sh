# Shared by ci/conformance.sh and ci/soak.sh: a throwaway database on the PostgreSQL server of
# TEST_DATABASE_URL, and a profile-api server on it, both gone when the calling script exits.
# Source it (with no arguments, so that it sees the script's) after `set -euo pipefail`.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The binary under test: the script's first argument, else the debug build that `cargo test`
# leaves behind.
BIN="$(realpath -m "${1:-$ROOT/target/debug/profile-api}")"
ADMIN_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export JWT_SECRET="ci-checks-secret-ci-checks-secret-0123456789"
export RUST_LOG="${RUST_LOG:-warn}"
SERVER_PID=""
DATABASE_NAME=""

log() { printf '\n== %s\n' "$*" >&2; }

# The URL of database $1 on the server of ADMIN_URL.
database_url() {
    local base="${ADMIN_URL%%\?*}"
    printf '%s/%s' "${base%/*}" "$1"
}

# Creates, migrates and seeds a database of its own; exports DATABASE_URL.
fresh_database() {
    DATABASE_NAME="profile_api_ci_$1_$$"
    PGOPTIONS="-c client_min_messages=warning" psql -q "$ADMIN_URL" \
        -c "DROP DATABASE IF EXISTS $DATABASE_NAME WITH (FORCE)" \
        -c "CREATE DATABASE $DATABASE_NAME" >/dev/null
    export DATABASE_URL
    DATABASE_URL="$(database_url "$DATABASE_NAME")"
    "$BIN" migrate >/dev/null
    "$BIN" seed --demo >/dev/null
}

drop_database() {
    if [ -n "$DATABASE_NAME" ]; then
        psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DATABASE_NAME WITH (FORCE)" >/dev/null || true
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the server on a free port (extra environment as arguments, `NAME=value`) and waits
# until it is ready; sets SERVER_PID and BASE_URL. Its log goes to $LOG_DIR/SCRIPT-server-N.log.
start_server() {
    local port
    port="$(free_port)"
    BASE_URL="http://127.0.0.1:$port"
    SERVER_COUNT=$((SERVER_COUNT + 1))
    SERVER_LOG="$LOG_DIR/$SCRIPT-server-$SERVER_COUNT.log"
    env "$@" BIND_ADDR="127.0.0.1:$port" "$BIN" serve >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if curl -fsS -o /dev/null "$BASE_URL/readyz" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$SERVER_LOG" >&2
            echo "profile-api serve exited before it was ready" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "profile-api serve was not ready within 30 s" >&2
    return 1
}

# Stops the server with SIGTERM (a graceful shutdown) and waits for it.
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" || true
    fi
    SERVER_PID=""
}

cleanup() {
    stop_server
    drop_database
}

trap cleanup EXIT
# Logs and reports, under target/ci-checks/ with the script's name.
SCRIPT="$(basename "$0" .sh)"
SERVER_COUNT=0
LOG_DIR="$ROOT/target/ci-checks"
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR/$SCRIPT"-*
if [ ! -x "$BIN" ]; then
    echo "no binary at $BIN: build it first (cargo build, or cargo test)" >&2
    exit 1
fi

#!/usr/bin/env bash
# A bounded soak: a few minutes of mixed reads, profile writes and follow-graph changes against a
# server on a fresh, seeded database, with /metrics never scraped. Fails when the floor of the
# server's RSS rises from the second quarter of the run to the last (ci/soak/soak.mjs says how
# much and why a floor), when any response is unexpected (a 5xx, a refused
# write), when an acknowledged write is missing after a graceful restart, or when
# `profile-api recount` finds counter drift.
#
#   ci/soak.sh [path/to/profile-api]     (default: target/debug/profile-api)
#
# The load: ci/soak/soak.mjs runs one client per writing user (SOAK_WRITERS, default 16), each
# mixing reads, profile updates (REST and GraphQL) and follow-graph changes, and samples the
# server's RSS; beside it, two wrk runs read as fast as they can (REST by id and GraphQL
# `user(id)`, bench/wrk/bench.lua), so that the run makes enough requests for a leak of a few
# bytes each to show. SOAK_SECONDS (default 180) is the length of the load.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WRITERS="${SOAK_WRITERS:-16}"
STATE="$LOG_DIR/$SCRIPT-state.json"
TOKENS="$LOG_DIR/$SCRIPT-tokens.json"

fresh_database soak
# The writers are the first demo filler users (src/demo.rs): public, active, unrelated to each
# other.
{
    printf '{'
    for n in $(seq 0 $((WRITERS - 1))); do
        id="$(printf '64f0fa17%016x' "$n")"
        [ "$n" -gt 0 ] && printf ','
        printf '"%s":"%s"' "$id" "$("$BIN" token --user "$id" --ttl 1h)"
    done
    printf '}'
} >"$TOKENS"

SECONDS_OF_LOAD="${SOAK_SECONDS:-180}"
FILLERS="$LOG_DIR/$SCRIPT-ids.txt"
for n in $(seq 0 299); do printf '64f0fa17%016x\n' "$n"; done >"$FILLERS"

# wrk NAME [VAR=VALUE...]: reads for the whole soak with bench/wrk/bench.lua, in the background.
WRK_PIDS=()
wrk_reads() {
    local name="$1"
    shift
    env "$@" BENCH_IDS_FILE="$FILLERS" wrk -t 1 -c 8 -d "${SECONDS_OF_LOAD}s" --timeout 5s \
        -s "$ROOT/bench/wrk/bench.lua" "$BASE_URL" >"$LOG_DIR/$SCRIPT-wrk-$name.out" 2>&1 &
    WRK_PIDS+=("$!")
}
trap 'kill "${WRK_PIDS[@]}" 2>/dev/null || true; cleanup' EXIT

# "requests=N ... errors=0 non2xx=0" of a wrk run, or a failure.
wrk_result() {
    local result
    result="$(grep -o 'BENCH_RESULT.*' "$LOG_DIR/$SCRIPT-wrk-$1.out" || true)"
    echo "  wrk $1: ${result#BENCH_RESULT }"
    case "$result" in
        *" errors=0 non2xx=0") ;;
        *) echo "FAIL: wrk $1 had errors or non-2xx answers: $(cat "$LOG_DIR/$SCRIPT-wrk-$1.out")" >&2; return 1 ;;
    esac
}

# A long wait for a pooled connection: on a busy CI machine 32 clients against a pool of four
# may queue past the default 2 s, and a 503 would fail the soak for what is not its subject.
start_server DB_POOL_WAIT_TIMEOUT_MS=10000
log "soak: $SECONDS_OF_LOAD s against $BASE_URL (pid $SERVER_PID), /metrics never scraped"
wrk_reads rest BENCH_PATH='/api/v1/users/profile/__ID__'
wrk_reads graphql BENCH_METHOD=POST BENCH_PATH=/graphql \
    BENCH_BODY='{"query":"{ user(id: \"__ID__\") { id username followersCount followingCount } }"}'
SOAK_URL="$BASE_URL" SOAK_PID="$SERVER_PID" SOAK_TOKENS="$TOKENS" SOAK_SECONDS="$SECONDS_OF_LOAD" \
    node "$ROOT/ci/soak/soak.mjs" load "$STATE"
wait "${WRK_PIDS[@]}"
wrk_result rest
wrk_result graphql

log "soak: restarting the server, then checking every acknowledged write"
stop_server
start_server
SOAK_URL="$BASE_URL" node "$ROOT/ci/soak/soak.mjs" verify "$STATE"
stop_server

log "soak: recount"
recount="$("$BIN" recount)"
echo "$recount"
if [ "$recount" != "All follower and following counters match the follow table." ]; then
    echo "FAIL: recount found drift" >&2
    exit 1
fi
log "soak: passed"

#!/usr/bin/env bash
# Failure drills on the scripts/cluster.sh topology: each bounded in time, each printing its
# figures, the whole exiting non-zero if one fails. CI can call it as it is.
#
#   scripts/drills.sh                 every drill (starts the cluster if it is not up, and stops
#                                     it again afterwards unless KEEP_CLUSTER=1)
#   scripts/drills.sh NAME…           only those drills
#   scripts/drills.sh --list          the drills
#
# A drill is a function `drill_<name>` that prints figures and returns 0 (passed), 1 (failed) or
# 3 (skipped: the feature it exercises is not there yet). Each runs in a process of its own under
# `timeout` (DRILL_TIMEOUT seconds, 180 by default). The load comes from wrk (Debian package,
# installed when missing) on loopback, for a few seconds at a time.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLUSTER="$ROOT/scripts/cluster.sh"
# shellcheck source=scripts/cluster-settings.sh
. "$ROOT/scripts/cluster-settings.sh"
LB="http://127.0.0.1:$LB_PORT"
# The demo data's example user (src/demo.rs), present after `cluster.sh up`.
USER_ID=507f1f77bcf86cd799439011
READ_PATH="/api/v1/users/profile/$USER_ID"
DRILLS=(instance_kill rate_limit coherence replica_routing read_your_writes replica_kill write_capacity)

log() { printf '  %s\n' "$*"; }

# --- helpers for drills ---------------------------------------------------------------------

sql() { # port, query (on the application database)
    "$PG_BIN/psql" -X -h 127.0.0.1 -p "$1" -U postgres -d profile_api -Atqc "$2"
}

ensure_wrk() {
    command -v wrk >/dev/null && return
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
}

# wrk's Lua: responses counted by status (wrk itself only says "non-2xx"), printed with the
# socket errors and latencies as `key value…` lines.
write_wrk_script() {
    cat >"$DIR/drill.lua" <<'EOF'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("status_%d %d\n", status, n)) end
  local e = summary.errors
  io.write(string.format("socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("requests %d\nseconds %.3f\n", summary.requests, summary.duration / 1e6))
  io.write(string.format("p50_ms %.2f\np99_ms %.2f\nmax_ms %.2f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
EOF
}

# load OUT SECONDS CONNECTIONS [wrk options…]: GET READ_PATH through HAProxy; figures in OUT.
load() {
    local out="$1" seconds="$2" connections="$3"
    shift 3
    wrk -t2 -c"$connections" -d"${seconds}s" --timeout 5s -s "$DIR/drill.lua" "$@" "$LB$READ_PATH" |
        awk '/^(status_[0-9]+|socket_errors|requests|seconds|p50_ms|p99_ms|max_ms) /' >"$out"
}

fig() { # file key: a figure of a load run, 0 when absent
    awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$1"
}

failures() { # requests of a load run that did not get `expected` status: errors and others
    local expected="$2"
    awk -v ok="status_$expected" '/^status_/ && $1 != ok { n += $2 } $1 == "socket_errors" { n += $2 } END { print n + 0 }' "$1"
}

# HAProxy's statistics of one server (or BACKEND), by CSV column: 8 requests sent (sessions),
# 16 retries, 17 redispatches, 18 state (UP, DOWN, …).
server_stat() { # server column
    curl -fsS "http://127.0.0.1:$STATS_PORT/;csv" |
        awk -F, -v s="$1" -v c="$2" '$1 == "instances" && $2 == s { print $c }'
}

is_up() { [ "$(server_stat "$1" 18)" = UP ]; }
is_not_up() { ! is_up "$1"; }

all_up() {
    for n in 1 2 3; do is_up "api$n" || return 1; done
}

wait_until() { # seconds, command…: polls every 100 ms; prints the seconds it took
    local limit_ms=$(($1 * 1000)) start
    shift
    start="$(date +%s%3N)"
    until "$@" >/dev/null 2>&1; do
        [ $(($(date +%s%3N) - start)) -lt "$limit_ms" ] || { echo "timeout"; return 1; }
        sleep 0.1
    done
    awk -v ms="$(($(date +%s%3N) - start))" 'BEGIN { printf "%.1f", ms / 1000 }'
}

# Restarts the instances with RATE_LIMIT_PER_SECOND=$1, RATE_LIMIT_BURST=$2 and REDIS_URL=$3
# (default: the cluster's), unless they already run so.
instances_with() { # RATE BURST [REDIS_URL] [CACHE on|off]
    local wanted="$1 $2 ${3:-default} ${4:-on}"
    if [ "$(cat "$DIR/instances-settings" 2>/dev/null)" != "$wanted" ]; then
        local redis=()
        [ -n "${3:-}" ] && redis=(REDIS_URL="$3")
        env RATE_LIMIT_PER_SECOND="$1" RATE_LIMIT_BURST="$2" CACHE="${4:-on}" "${redis[@]}" "$CLUSTER" restart-api >/dev/null
        echo "$wanted" >"$DIR/instances-settings"
    fi
    wait_until 20 all_up >/dev/null || { log "HAProxy does not see the three instances up"; return 1; }
}

metric_sum() { # name and label filter: the sum over the three instances' /metrics
    for port in "${API_PORTS[@]}"; do
        curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null | grep "^$1" | grep -- "$2" || true
    done | awk '{ n += $NF } END { print n + 0 }'
}

replicas_supported() {
    # The lead's replica pools add DATABASE_REPLICA_URLS to the configuration.
    "$BIN" --help 2>/dev/null | grep -q -- '--database-replica-urls'
}

# --- the drills -----------------------------------------------------------------------------

# An instance killed (SIGKILL) under load behind HAProxy: the others carry on; errors only for
# the requests that were in flight on it (HAProxy retries reads that got no answer, so usually
# none at all); HAProxy takes it out of rotation and back in once it is restarted.
drill_instance_kill() {
    local connections=16 victim=2
    instances_with 0 50 || return 1
    load "$DIR/before.txt" 3 "$connections"
    log "before: $(fig "$DIR/before.txt" requests) requests in $(fig "$DIR/before.txt" seconds)s, p99 $(fig "$DIR/before.txt" p99_ms) ms, failed $(failures "$DIR/before.txt" 200)"

    load "$DIR/during.txt" 8 "$connections" &
    local wrk_pid=$!
    sleep 2
    local retries_before redispatches_before
    retries_before="$(server_stat BACKEND 16)"
    redispatches_before="$(server_stat BACKEND 17)"
    "$CLUSTER" kill-api "$victim"
    local out_after
    out_after="$(wait_until 10 is_not_up "api$victim" || true)"
    wait "$wrk_pid"
    local failed_during
    failed_during="$(failures "$DIR/during.txt" 200)"
    log "killed instance $victim 2 s into an 8 s run with $connections connections: $(fig "$DIR/during.txt" requests) requests, failed $failed_during (bound: $connections in flight), max latency $(fig "$DIR/during.txt" max_ms) ms; HAProxy retried $(($(server_stat BACKEND 16) - retries_before)) and redispatched $(($(server_stat BACKEND 17) - redispatches_before)), and marked it down after ${out_after}s"

    load "$DIR/after.txt" 3 "$connections"
    local failed_after
    failed_after="$(failures "$DIR/after.txt" 200)"
    log "on two instances: $(fig "$DIR/after.txt" requests) requests in $(fig "$DIR/after.txt" seconds)s, p99 $(fig "$DIR/after.txt" p99_ms) ms, failed $failed_after"

    "$CLUSTER" start-api "$victim"
    local back sessions_before served
    back="$(wait_until 20 all_up || true)"
    sessions_before="$(server_stat "api$victim" 8)"
    load "$DIR/rejoined.txt" 3 "$connections"
    local failed_rejoined
    failed_rejoined="$(failures "$DIR/rejoined.txt" 200)"
    served=$(($(server_stat "api$victim" 8) - sessions_before))
    log "restarted: back in rotation ${back}s after its start; $(fig "$DIR/rejoined.txt" requests) requests, failed $failed_rejoined, $served of them through the restarted instance's connections"

    [ "$failed_during" -le "$connections" ] && [ "$failed_after" = 0 ] &&
        [ "$failed_rejoined" = 0 ] && [ "$back" != timeout ] && [ "${served:-0}" -gt 0 ]
}

# One user hammering the three instances through HAProxy is admitted what one limit admits
# (burst + rate × seconds, ± the burst), not three times that; with Redis unreachable each
# instance falls back to its own bucket (shown for contrast, not failed on).
drill_rate_limit() {
    local rate=20 burst=40 seconds=5 token admitted expected
    instances_with "$rate" "$burst" || return 1
    token="$("$CLUSTER" token "$USER_ID")"
    local redis_before errors_before
    redis_before="$(metric_sum rate_limit_decisions_total 'store="redis"')"
    errors_before="$(metric_sum rate_limit_redis_errors_total '')"
    load "$DIR/limited.txt" "$seconds" 6 -H "Authorization: Bearer $token"
    admitted="$(fig "$DIR/limited.txt" status_200)"
    local limited duration others
    limited="$(fig "$DIR/limited.txt" status_429)"
    duration="$(fig "$DIR/limited.txt" seconds)"
    others="$(failures "$DIR/limited.txt" 200)"
    others=$((others - limited))
    expected="$(awk -v b="$burst" -v r="$rate" -v d="$duration" 'BEGIN { printf "%.0f", b + r * d }')"
    local by_redis redis_errors
    by_redis=$(($(metric_sum rate_limit_decisions_total 'store="redis"') - redis_before))
    redis_errors=$(($(metric_sum rate_limit_redis_errors_total '') - errors_before))
    log "limit ${rate}/s, burst $burst, 3 instances sharing Redis: $admitted admitted, $limited refused (429) in ${duration}s; one limit admits $expected (± $burst); $by_redis decisions taken in Redis, $redis_errors Redis calls failed or late (decided locally); other failures $others"

    # Contrast: the same with Redis unreachable, where each instance limits on its own.
    instances_with "$rate" "$burst" redis://127.0.0.1:1 || return 1
    load "$DIR/local.txt" "$seconds" 6 -H "Authorization: Bearer $token"
    log "the same with Redis unreachable (each instance on its own): $(fig "$DIR/local.txt" status_200) admitted, $(fig "$DIR/local.txt" status_429) refused, other failures $(($(failures "$DIR/local.txt" 200) - $(fig "$DIR/local.txt" status_429)))"
    instances_with 0 50 || return 1

    [ "$others" = 0 ] && [ "$admitted" -ge $((expected - burst)) ] && [ "$admitted" -le $((expected + burst)) ]
}

# A change made through one instance shows on the others within 100 ms (SPEC §8): the first
# instance takes 60 PATCHes of a bio, one at a time; after each, the two others are polled (a
# kept-alive connection each, as fast as they answer) until they show it. Their caches hold the
# profile before every write, so what is measured is the change stream's invalidation.
drill_coherence() {
    instances_with 0 50 || return 1
    local token
    token="$("$CLUSTER" token "$USER_ID")"
    python3 - "$token" "${API_PORTS[@]}" >"$DIR/coherence.txt" <<'PY' || { cat "$DIR/coherence.txt" >&2; return 1; }
import http.client, json, sys, time
token, writer, *readers = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:])
path = "/api/v1/users/profile/507f1f77bcf86cd799439011"
connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=5) for port in [writer, *readers]}
def get(port):
    c = connections[port]
    c.request("GET", path)
    r = c.getresponse()
    return json.loads(r.read())["data"]["bio"]
sent_lags, answered_lags = [], []
for n in range(60):
    for port in readers:
        get(port)  # the profile is in every cache before the write
    bio = f"coherence {time.time_ns()} {n}"
    sent = time.perf_counter()
    c = connections[writer]
    c.request("PATCH", "/api/v1/users/profile", json.dumps({"bio": bio}),
              {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    answered = time.perf_counter()
    for port in readers:
        while get(port) != bio:
            if time.perf_counter() - sent > 5:
                sys.exit(f"instance {port} did not show the change within 5 s")
        now = time.perf_counter()
        sent_lags.append(now - sent)
        answered_lags.append(now - answered)
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000
print(f"samples {len(answered_lags)}")
print(f"after_answer_p50_ms {pct(answered_lags, 0.5):.2f}")
print(f"after_answer_p99_ms {pct(answered_lags, 0.99):.2f}")
print(f"after_send_p99_ms {pct(sent_lags, 0.99):.2f}")
print(f"max_ms {max(sent_lags) * 1000:.2f}")
PY
    local p99
    p99="$(fig "$DIR/coherence.txt" after_send_p99_ms)"
    log "a PATCH on one instance, seen on the two others: $(fig "$DIR/coherence.txt" samples) samples; from the writer's answer p50 $(fig "$DIR/coherence.txt" after_answer_p50_ms) ms, p99 $(fig "$DIR/coherence.txt" after_answer_p99_ms) ms; from sending the PATCH (an upper bound of the time since its commit) p99 $p99 ms, max $(fig "$DIR/coherence.txt" max_ms) ms"
    awk -v p="$p99" 'BEGIN { exit !(p <= 100) }'
}

# Under read load the replica executes the profile reads (pg_stat_statements says so) and the
# primary's CPU goes to other work. The instances run without their cache here (CACHE=off), or
# nearly every read would be answered from memory and neither database would see it.
drill_replica_routing() {
    replicas_supported || { log "replica routing not implemented (no DATABASE_REPLICA_URLS in this build)"; return 3; }
    instances_with 0 50 "" off || return 1
    # Reads of profiles: SELECTs naming the users table (diesel quotes identifiers).
    # shellcheck disable=SC2016 # dollar quotes for SQL, not for the shell
    local calls='SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query ILIKE $$select%$$ AND query LIKE $$%"users"%$$'
    sql "$PRIMARY_PORT" "SELECT pg_stat_statements_reset()" >/dev/null
    sql "$REPLICA_PORT" "SELECT pg_stat_statements_reset()" >/dev/null
    local primary_pid replica_pid primary_before replica_before
    primary_pid="$(head -n 1 "$DIR/primary/postmaster.pid")"
    replica_pid="$(head -n 1 "$DIR/replica/postmaster.pid")"
    primary_before="$(primary_cpu_ticks "$primary_pid")"
    replica_before="$(primary_cpu_ticks "$replica_pid")"
    load "$DIR/routing.txt" 5 16
    local on_primary on_replica primary_cpu replica_cpu hz
    hz="$(getconf CLK_TCK)"
    primary_cpu=$(awk -v a="$primary_before" -v b="$(primary_cpu_ticks "$primary_pid")" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / 5 }')
    replica_cpu=$(awk -v a="$replica_before" -v b="$(primary_cpu_ticks "$replica_pid")" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / 5 }')
    on_primary="$(sql "$PRIMARY_PORT" "$calls")"
    on_replica="$(sql "$REPLICA_PORT" "$calls")"
    log "$(fig "$DIR/routing.txt" requests) profile reads in $(fig "$DIR/routing.txt" seconds)s (no cache): user queries on the replica $on_replica, on the primary $on_primary; CPU of the replica's PostgreSQL $replica_cpu cores, of the primary's $primary_cpu cores; failed $(failures "$DIR/routing.txt" 200)"
    [ "$(failures "$DIR/routing.txt" 200)" = 0 ] && [ "$on_replica" -gt $((on_primary * 10)) ]
}

# Read-your-writes with the replica held back (pg_wal_replay_pause()): a user's PATCH, then that
# user's GET on every instance shows the change at once, with and without the cache; anonymous
# reads may show the old profile while the replica is within REPLICA_MAX_LAG_MS (1 s), and leave
# the paused replica once it is past that bound.
drill_read_your_writes() {
    replicas_supported || { log "replica routing not implemented (no DATABASE_REPLICA_URLS in this build)"; return 3; }
    local cache token ok=0
    token="$("$CLUSTER" token "$USER_ID")"
    for cache in on off; do
        instances_with 0 50 "" "$cache" || return 1
        # The replica caught up, and every instance's monitor knows it, before the pause.
        wait_until 10 replica_caught_up >/dev/null
        sleep 0.3
        local bio stale=0 anonymous_stale=0 anonymous_later=0
        sql "$REPLICA_PORT" "SELECT pg_wal_replay_pause()" >/dev/null
        bio="drill $(date +%s%N)"
        curl -fsS -X PATCH -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            -d "{\"bio\": \"$bio\"}" "$LB/api/v1/users/profile" >/dev/null || {
            sql "$REPLICA_PORT" "SELECT pg_wal_replay_resume()" >/dev/null
            log "PATCH failed"
            return 1
        }
        for port in "${API_PORTS[@]}"; do
            curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port$READ_PATH" | grep -qF "$bio" || stale=$((stale + 1))
        done
        for port in "${API_PORTS[@]}"; do
            curl -fsS "http://127.0.0.1:$port$READ_PATH" | grep -qF "$bio" || anonymous_stale=$((anonymous_stale + 1))
        done
        # Past the lag bound (and a monitor round), nobody reads the paused replica any more.
        sleep 1.5
        for port in "${API_PORTS[@]}"; do
            for _ in 1 2 3; do
                curl -fsS "http://127.0.0.1:$port$READ_PATH" | grep -qF "$bio" || anonymous_later=$((anonymous_later + 1))
            done
        done
        sql "$REPLICA_PORT" "SELECT pg_wal_replay_resume()" >/dev/null
        log "cache $cache, replay paused on the replica: after the PATCH the writer's GET was stale on $stale of 3 instances; anonymous GETs stale on $anonymous_stale of 3 at once (allowed within REPLICA_MAX_LAG_MS), on $anonymous_later of 9 after 1.5 s"
        [ "$stale" = 0 ] && [ "$anonymous_later" = 0 ] && ok=$((ok + 1))
    done
    instances_with 0 50 || return 1
    [ "$ok" = 2 ]
}

replica_caught_up() {
    [ "$(sql "$REPLICA_PORT" "SELECT pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn()")" = t ]
}

# A replica killed under load: no failed request after the first second; it rejoins.
drill_replica_kill() {
    replicas_supported || { log "replica routing not implemented (no DATABASE_REPLICA_URLS in this build)"; return 3; }
    instances_with 0 50 || return 1
    load "$DIR/replica-kill.txt" 8 16 &
    local wrk_pid=$!
    sleep 2
    kill -KILL "$(head -n 1 "$DIR/replica/postmaster.pid")"
    sleep 1
    # From the first second after the kill on, a second load that must see no failure at all.
    load "$DIR/replica-gone.txt" 4 8
    wait "$wrk_pid"
    local failed_first failed_after
    failed_first="$(failures "$DIR/replica-kill.txt" 200)"
    failed_after="$(failures "$DIR/replica-gone.txt" 200)"
    log "replica killed 2 s into an 8 s run: $(fig "$DIR/replica-kill.txt" requests) requests, failed $failed_first, max latency $(fig "$DIR/replica-kill.txt" max_ms) ms; from 1 s after the kill: $(fig "$DIR/replica-gone.txt" requests) requests, failed $failed_after"
    "$CLUSTER" up >/dev/null 2>&1
    local back
    back="$(wait_until 30 replica_streaming || true)"
    log "replica restarted by cluster.sh up, streaming again after ${back}s"
    [ "$failed_after" = 0 ] && [ "$back" != timeout ]
}

replica_streaming() {
    [ "$(sql "$PRIMARY_PORT" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" -ge 1 ]
}

# Not a failure drill: what one primary takes in profile updates (PATCH, 100 active users at random,
# through HAProxy) on this machine, with the CPU its processes used and the WAL it wrote; the
# figures the README's "past one primary" reasons from. Fails only if updates fail.
drill_write_capacity() {
    instances_with 0 50 || return 1
    local ids tokens="$DIR/tokens.txt"
    ids="$(sql "$PRIMARY_PORT" "SELECT id FROM users WHERE deactivated_at IS NULL ORDER BY id LIMIT 100")"
    : >"$tokens"
    for id in $ids; do "$CLUSTER" token "$id" >>"$tokens"; done
    cat >"$DIR/patch.lua" <<'EOF'
local tokens = {}
for line in io.lines(os.getenv("DRILL_TOKENS")) do tokens[#tokens + 1] = line end
local n = 0
request = function()
  n = n + 1
  local token = tokens[math.random(#tokens)]
  return wrk.format("PATCH", "/api/v1/users/profile",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
    string.format('{"bio": "drill %d %d"}', n, math.random(1000000000)))
end
EOF
    # The counting script's response() and done(), with this request().
    cat "$DIR/drill.lua" >>"$DIR/patch.lua"
    local postmaster cpu_before wal_before seconds=8
    postmaster="$(head -n 1 "$DIR/primary/postmaster.pid")"
    cpu_before="$(primary_cpu_ticks "$postmaster")"
    wal_before="$(sql "$PRIMARY_PORT" "SELECT pg_current_wal_lsn()")"
    DRILL_TOKENS="$tokens" wrk -t2 -c16 -d"${seconds}s" --timeout 5s -s "$DIR/patch.lua" "$LB/" |
        awk '/^(status_[0-9]+|socket_errors|requests|seconds|p50_ms|p99_ms|max_ms) /' >"$DIR/writes.txt"
    local ticks wal duration updated
    ticks=$(($(primary_cpu_ticks "$postmaster") - cpu_before))
    wal="$(sql "$PRIMARY_PORT" "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal_before')")"
    duration="$(fig "$DIR/writes.txt" seconds)"
    updated="$(fig "$DIR/writes.txt" status_200)"
    awk -v n="$updated" -v d="$duration" -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v w="$wal" \
        -v p50="$(fig "$DIR/writes.txt" p50_ms)" -v p99="$(fig "$DIR/writes.txt" p99_ms)" 'BEGIN {
        printf "  %d profile updates in %.1fs: %.0f/s, p50 %s ms, p99 %s ms; the primary used %.2f cores (%.2f ms of CPU per update) and wrote %.1f MB of WAL (%.2f MB/s, %.0f bytes per update)\n",
            n, d, n / d, p50, p99, t / hz / d, t / hz * 1000 / n, w / 1e6, w / 1e6 / d, w / n }'
    log "replica after the run: $("$CLUSTER" status | awk '/^replica/ { sub(/^replica +[^ ]+ +/, ""); print }')"
    [ "$(failures "$DIR/writes.txt" 200)" = 0 ] && [ "$updated" -gt 0 ]
}

# CPU time (clock ticks) used so far by a PostgreSQL server: the postmaster and its processes.
primary_cpu_ticks() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1"); do
        # utime and stime: fields 14 and 15 of /proc/PID/stat, 12 and 13 after the command.
        total=$((total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# --- the harness ----------------------------------------------------------------------------

run_one() { # in a process of its own, under timeout
    local name="$1"
    "drill_$name"
}

main() {
    if [ "${1:-}" = "--list" ]; then printf '%s\n' "${DRILLS[@]}"; return; fi
    if [ "${1:-}" = "--one" ]; then run_one "$2"; return; fi
    local selected=("$@")
    [ ${#selected[@]} -gt 0 ] || selected=("${DRILLS[@]}")
    for name in "${selected[@]}"; do
        declare -F "drill_$name" >/dev/null || { echo "unknown drill: $name (see --list)" >&2; exit 2; }
    done
    ensure_wrk
    local started_cluster=0
    if ! "$CLUSTER" status >/dev/null 2>&1; then
        echo "starting the cluster…"
        "$CLUSTER" up
        started_cluster=1
    fi
    mkdir -p "$DIR"
    write_wrk_script
    # The instances' settings are unknown until a drill sets them.
    rm -f "$DIR/instances-settings"
    local failed=0 summary=()
    for name in "${selected[@]}"; do
        echo "drill $name"
        local start=$SECONDS status=0
        timeout "${DRILL_TIMEOUT:-180}" "$0" --one "$name" || status=$?
        local took=$((SECONDS - start)) verdict
        case "$status" in
            0) verdict=passed ;;
            3) verdict=skipped ;;
            124) verdict="FAILED (over ${DRILL_TIMEOUT:-180}s)"; failed=1 ;;
            *) verdict=FAILED; failed=1 ;;
        esac
        echo "  → $verdict in ${took}s"
        summary+=("$(printf '%-18s %s (%ss)' "$name" "$verdict" "$took")")
    done
    # Leave the instances as `up` starts them.
    if [ "$(cat "$DIR/instances-settings" 2>/dev/null)" != "0 50 default" ]; then
        "$CLUSTER" restart-api >/dev/null || true
    fi
    if [ "$started_cluster" = 1 ] && [ "${KEEP_CLUSTER:-0}" != 1 ]; then
        "$CLUSTER" down >/dev/null
    fi
    echo
    printf '%s\n' "${summary[@]}"
    return "$failed"
}

main "$@"

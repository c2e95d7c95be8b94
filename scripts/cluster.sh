#!/usr/bin/env bash
# The scale-out topology on this machine, on loopback only, from Debian packages:
#
#   clients ──▶ HAProxy :18080 ──(health checks on /readyz)──▶ profile-api :18081 :18082 :18083
#                                                                 │ writes        │ reads   │ limits
#                                                                 ▼               ▼         ▼
#                                        PostgreSQL primary :55432 ──streaming──▶ replica :55433
#                                                                                 Redis :6379 (the machine's)
#
#   scripts/cluster.sh up            build (release), start what is not running, migrate, seed
#   scripts/cluster.sh down [--clean] stop everything (--clean also deletes the data)
#   scripts/cluster.sh status        each part, and the replica's lag
#   scripts/cluster.sh restart-api   restart the three instances (e.g. with new RATE_LIMIT_*)
#   scripts/cluster.sh kill-api N    SIGKILL instance N (1-3), for drills
#   scripts/cluster.sh start-api N   start instance N again
#   scripts/cluster.sh token ID      a bearer token for user ID, valid on the cluster's instances
#
# Everything lives under target/cluster (CLUSTER_DIR). Settings read from the environment:
# RATE_LIMIT_PER_SECOND / RATE_LIMIT_BURST (default 0 / 50: off), REDIS_URL (default the
# machine's Redis, db 0, keys under profile-api-cluster:), CLUSTER_BIN (default the release
# binary, built by `up`), CLUSTER_RUST_LOG (default warn), CLUSTER_PG_PORT (55432; the replica
# takes the next port), CLUSTER_LB_PORT (18080; the instances take the next three, the HAProxy
# statistics page CLUSTER_STATS_PORT, 18404).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/cluster-settings.sh
. "$ROOT/scripts/cluster-settings.sh"
CLUSTER_REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
DATABASE=profile_api
PRIMARY_URL="postgres://postgres@127.0.0.1:$PRIMARY_PORT/$DATABASE"
REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/$DATABASE"

say() { printf '%s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# PostgreSQL refuses to run as root: its programs run as `postgres` then, as the embedded
# launcher (src/db/embedded.rs) does.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

sql() { # port, query
    "$PG_BIN/psql" -X -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atqc "$2"
}

pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # seconds, description, command...
    local seconds="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what: not ready after ${seconds}s"
        sleep 0.2
    done
}

port_free() { # port, what: stops with a clear message when something else listens there
    if ss -Hltn "sport = :$1" | grep -q .; then
        die "$2: port $1 is taken by another process (another cluster? CLUSTER_PG_PORT and CLUSTER_LB_PORT move this one)"
    fi
}

pg_dir() { # a directory PostgreSQL owns
    mkdir -p "$1"
    chmod 700 "$1"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$1"; fi
}

start_primary() {
    local data="$DIR/primary"
    if [ ! -f "$data/PG_VERSION" ]; then
        pg_dir "$data"
        as_pg "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
        cat >>"$data/postgresql.conf" <<EOF
# scripts/cluster.sh
cluster_name = 'primary'
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$DIR/run'
max_connections = 200
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
wal_keep_size = '256MB'
hot_standby = on
hot_standby_feedback = on
shared_preload_libraries = 'pg_stat_statements'
EOF
        # Loopback only. Trust is for this throw-away cluster; the replication line lets the
        # replica stream (pg_basebackup -R and the walreceiver connect as `replicator`).
        cat >"$data/pg_hba.conf" <<EOF
local   all          all                       trust
host    all          all          127.0.0.1/32 trust
host    replication  replicator   127.0.0.1/32 trust
EOF
    fi
    if ! pg_running "$data"; then
        port_free "$PRIMARY_PORT" primary
        as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$DIR/pglog/primary.log" -w -t 60 start >/dev/null
    fi
    sql "$PRIMARY_PORT" "SELECT 1 FROM pg_roles WHERE rolname = 'replicator'" | grep -q 1 ||
        sql "$PRIMARY_PORT" "CREATE ROLE replicator WITH REPLICATION LOGIN"
    sql "$PRIMARY_PORT" "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1 ||
        sql "$PRIMARY_PORT" "CREATE DATABASE $DATABASE"
    PGOPTIONS='-c client_min_messages=warning' "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PRIMARY_PORT" \
        -U postgres -d "$DATABASE" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    say "primary    127.0.0.1:$PRIMARY_PORT  running"
}

start_replica() {
    local data="$DIR/replica"
    if [ ! -f "$data/PG_VERSION" ]; then
        pg_dir "$data"
        # A copy of the primary that starts as a standby (-R writes primary_conninfo and
        # standby.signal), streaming WAL through a slot so the primary keeps what it needs.
        as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U replicator -D "$data" \
            -R -X stream -c fast --slot=replica1 --create-slot >/dev/null
        # cluster_name is also the name the primary lists it under (application_name).
        printf "# scripts/cluster.sh: the replica\nport = %s\ncluster_name = 'replica1'\n" \
            "$REPLICA_PORT" >>"$data/postgresql.conf"
    fi
    if ! pg_running "$data"; then
        port_free "$REPLICA_PORT" replica
        as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$DIR/pglog/replica.log" -w -t 60 start >/dev/null
    fi
    wait_for 30 "replica streaming" \
        bash -c "[ \"\$(\"$PG_BIN/psql\" -X -h 127.0.0.1 -p $PRIMARY_PORT -U postgres -d postgres -Atqc \"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'\")\" -ge 1 ]"
    say "replica    127.0.0.1:$REPLICA_PORT  streaming from the primary"
}

check_redis() {
    local host port
    host="$(sed -E 's#^redis://([^@/]*@)?([^:/]+).*#\2#' <<<"$CLUSTER_REDIS_URL")"
    port="$(sed -nE 's#^redis://([^@/]*@)?[^:/]+:([0-9]+).*#\2#p' <<<"$CLUSTER_REDIS_URL")"
    if redis-cli -h "$host" -p "${port:-6379}" ping 2>/dev/null | grep -q PONG; then
        say "redis      $host:${port:-6379}  answers (the machine's)"
    else
        say "redis      $host:${port:-6379}  DOES NOT ANSWER: rate limits fall back to each instance"
    fi
}

build() {
    if [ -n "${CLUSTER_BIN:-}" ]; then
        [ -x "$BIN" ] || die "CLUSTER_BIN=$BIN is not an executable"
        return
    fi
    say "building the release binary (cargo build --release)…"
    (cd "$ROOT" && cargo build --release --locked --quiet --bin profile-api)
}

jwt_secret() {
    if [ ! -s "$DIR/jwt-secret" ]; then
        (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$DIR/jwt-secret")
    fi
    cat "$DIR/jwt-secret"
}

# The environment every profile-api command of the cluster runs with.
api_env() {
    printf '%s\n' \
        "DATABASE_URL=$PRIMARY_URL" \
        "DATABASE_REPLICA_URLS=$REPLICA_URL" \
        "REDIS_URL=$CLUSTER_REDIS_URL" \
        "REDIS_KEY_PREFIX=profile-api-cluster:" \
        "JWT_SECRET=$(jwt_secret)" \
        "RATE_LIMIT_PER_SECOND=${RATE_LIMIT_PER_SECOND:-0}" \
        "RATE_LIMIT_BURST=${RATE_LIMIT_BURST:-50}" \
        "CACHE=${CACHE:-on}" \
        "LOG_FORMAT=json" \
        "RUST_LOG=${CLUSTER_RUST_LOG:-warn}"
}

api() { # profile-api with the cluster's settings
    local settings
    mapfile -t settings < <(api_env)
    env "${settings[@]}" DATA_DIR="$DIR/cli" "$BIN" "$@"
}

start_api() { # instance number 1-3
    local n="$1" port="${API_PORTS[$(($1 - 1))]}" pidfile="$DIR/api$1.pid"
    if pid_alive "$pidfile"; then return; fi
    port_free "$port" "instance $n"
    mkdir -p "$DIR/api$n"
    local settings
    mapfile -t settings < <(api_env)
    # setsid: the instance outlives this script and its terminal. (A simple command, so that
    # $! is the server's own process id: env and setsid replace themselves with it.)
    env "${settings[@]}" BIND_ADDR="127.0.0.1:$port" DATA_DIR="$DIR/api$n" \
        setsid "$BIN" serve >>"$DIR/api$n.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
}

wait_api() {
    local n="$1" port="${API_PORTS[$(($1 - 1))]}"
    wait_for 30 "instance $n (see $DIR/api$n.log)" curl -fsS "http://127.0.0.1:$port/readyz"
}

stop_api() { # instance number; SIGTERM, then SIGKILL after the shutdown timeout
    local pidfile="$DIR/api$1.pid"
    if pid_alive "$pidfile"; then
        local pid
        pid="$(cat "$pidfile")"
        kill -TERM "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
}

start_apis() {
    for n in 1 2 3; do start_api "$n"; done
    for n in 1 2 3; do wait_api "$n"; done
    say "instances  127.0.0.1:${API_PORTS[0]} :${API_PORTS[1]} :${API_PORTS[2]}  ready (rate limit: ${RATE_LIMIT_PER_SECOND:-0}/s, burst ${RATE_LIMIT_BURST:-50})"
}

ensure_haproxy() {
    command -v haproxy >/dev/null && return
    say "installing HAProxy (apt-get install haproxy)…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; } ||
        die "cannot install haproxy"
}

start_haproxy() {
    ensure_haproxy
    cat >"$DIR/haproxy.cfg" <<EOF
# scripts/cluster.sh: round robin over the three instances, which leave the rotation when
# /readyz fails twice in a row (checked every 500 ms) and come back after two passes.
global
    maxconn 4096

defaults
    mode http
    option http-keep-alive
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    # A request that could not reach an instance, or got no answer because the instance died,
    # is tried once more on another one; only reads: a write is never sent twice.
    retries 1
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend api
    bind 127.0.0.1:$LB_PORT
    default_backend instances

backend instances
    balance roundrobin
    http-request disable-l7-retry if !METH_GET
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    server api1 127.0.0.1:${API_PORTS[0]} check
    server api2 127.0.0.1:${API_PORTS[1]} check
    server api3 127.0.0.1:${API_PORTS[2]} check

listen stats
    bind 127.0.0.1:$STATS_PORT
    stats enable
    stats uri /
    stats refresh 2s
EOF
    haproxy -c -q -f "$DIR/haproxy.cfg" || die "invalid $DIR/haproxy.cfg"
    if pid_alive "$DIR/haproxy.pid"; then
        # Reload: a new process takes over the listeners, the old one finishes its requests.
        haproxy -D -f "$DIR/haproxy.cfg" -p "$DIR/haproxy.pid" -sf "$(cat "$DIR/haproxy.pid")"
    else
        port_free "$LB_PORT" haproxy
        port_free "$STATS_PORT" "haproxy statistics"
        haproxy -D -f "$DIR/haproxy.cfg" -p "$DIR/haproxy.pid"
    fi
    wait_for 20 "HAProxy on :$LB_PORT" curl -fsS "http://127.0.0.1:$LB_PORT/readyz"
    say "haproxy    127.0.0.1:$LB_PORT  (statistics: http://127.0.0.1:$STATS_PORT/)"
}

up() {
    mkdir -p "$DIR"
    pg_dir "$DIR/run"
    pg_dir "$DIR/pglog"
    build
    start_primary
    start_replica
    check_redis
    api migrate | sed 's/^/migrate    /'
    api seed --demo | sed 's/^/seed       /'
    start_apis
    start_haproxy
    say ""
    say "Try: curl http://127.0.0.1:$LB_PORT/api/v1/users/profile/507f1f77bcf86cd799439011"
    say "     scripts/cluster.sh status"
}

down() {
    if pid_alive "$DIR/haproxy.pid"; then kill -TERM "$(cat "$DIR/haproxy.pid")"; fi
    rm -f "$DIR/haproxy.pid"
    for n in 1 2 3; do stop_api "$n"; done
    for part in replica primary; do
        if [ -d "$DIR/$part" ] && pg_running "$DIR/$part"; then
            as_pg "$PG_BIN/pg_ctl" -D "$DIR/$part" -m fast -w -t 60 stop >/dev/null
        fi
    done
    if [ "${1:-}" = "--clean" ]; then
        rm -rf "$DIR"
        say "cluster stopped and its data deleted ($DIR)"
    else
        say "cluster stopped (data kept in $DIR; 'down --clean' deletes it)"
    fi
}

status() {
    local failed=0
    if [ -d "$DIR/primary" ] && pg_running "$DIR/primary"; then
        say "primary    127.0.0.1:$PRIMARY_PORT  up"
        local rows
        rows="$(sql "$PRIMARY_PORT" "SELECT application_name || ' ' || state || ', sent-replayed ' || pg_size_pretty(pg_wal_lsn_diff(sent_lsn, replay_lsn)) || ', replay lag ' || coalesce(replay_lag::text, '0') FROM pg_stat_replication" 2>/dev/null || true)"
        [ -n "$rows" ] && while IFS= read -r row; do say "           streaming to $row"; done <<<"$rows"
    else
        say "primary    127.0.0.1:$PRIMARY_PORT  DOWN"
        failed=1
    fi
    if [ -d "$DIR/replica" ] && pg_running "$DIR/replica"; then
        local lag
        lag="$(sql "$REPLICA_PORT" "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'not receiving') || ', ' || CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 'everything received is replayed' ELSE pg_size_pretty(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())) || ' received but not replayed, last transaction replayed ' || coalesce((now() - pg_last_xact_replay_timestamp())::text || ' ago', 'never') END || CASE WHEN pg_is_wal_replay_paused() THEN ', replay PAUSED' ELSE '' END" 2>/dev/null || echo unknown)"
        say "replica    127.0.0.1:$REPLICA_PORT  up, $lag"
    else
        say "replica    127.0.0.1:$REPLICA_PORT  DOWN"
        failed=1
    fi
    check_redis
    for n in 1 2 3; do
        local port="${API_PORTS[$((n - 1))]}"
        if pid_alive "$DIR/api$n.pid"; then
            local ready
            ready="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)"
            say "instance $n 127.0.0.1:$port  pid $(cat "$DIR/api$n.pid"), /readyz $ready"
        else
            say "instance $n 127.0.0.1:$port  DOWN"
            failed=1
        fi
    done
    if pid_alive "$DIR/haproxy.pid"; then
        say "haproxy    127.0.0.1:$LB_PORT  up; backends:"
        curl -fsS "http://127.0.0.1:$STATS_PORT/;csv" 2>/dev/null |
            awk -F, '$1 == "instances" && $2 != "BACKEND" { printf "             %s %s\n", $2, $18 }'
    else
        say "haproxy    127.0.0.1:$LB_PORT  DOWN"
        failed=1
    fi
    return "$failed"
}

case "${1:-}" in
    up) up ;;
    down) down "${2:-}" ;;
    status) status ;;
    restart-api)
        for n in 1 2 3; do stop_api "$n"; done
        start_apis
        ;;
    kill-api)
        [[ "${2:-}" =~ ^[123]$ ]] || die "kill-api takes an instance number, 1 to 3"
        pid_alive "$DIR/api$2.pid" && kill -KILL "$(cat "$DIR/api$2.pid")"
        rm -f "$DIR/api$2.pid"
        ;;
    start-api)
        [[ "${2:-}" =~ ^[123]$ ]] || die "start-api takes an instance number, 1 to 3"
        start_api "$2"
        wait_api "$2"
        ;;
    token) # a bearer token for a user of the cluster: token <user id>
        api token --user "${2:?token takes a user id}"
        ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 2
        ;;
esac

#!/usr/bin/env bash
# Live profiles at scale (issue 14): 10,000 concurrent GraphQL subscribers (graphql-transport-ws)
# on one release-built instance, each watching 10 profiles, while profiles change in the database
# at 100 per second. Prints the delivery latency from commit to the subscriber's socket (p50,
# p90, p99, max), how many updates were owed and delivered, and the instance's peak RSS and CPU.
# Goals: p99 <= 100 ms, peak RSS <= 256 MiB.
#
#   bench/subscriptions.sh [--clients 10000] [--ids 10] [--users 10000] [--rate 100]
#                          [--duration 30] [--signed-in 50] [--pool N]
#
# --signed-in is the share of subscribers (percent) that connect with a token (each as a user of
# its own); the others are anonymous. The load client is `bench/subscriptions/main.rs`
# (`cargo build --release --example subscriptions_load`); it shares the cores with the server
# and PostgreSQL. See bench/README.md for what it printed here.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

clients=10000 ids=10 users=10000 rate=100 duration=30 signed_in=50 pool=$DEFAULT_POOL
while [ $# -gt 0 ]; do
	case $1 in
	--clients) clients=$2 && shift ;;
	--ids) ids=$2 && shift ;;
	--users) users=$2 && shift ;;
	--rate) rate=$2 && shift ;;
	--duration) duration=$2 && shift ;;
	--signed-in) signed_in=$2 && shift ;;
	--pool) pool=$2 && shift ;;
	*) die "unknown argument $1 (see the top of $0)" ;;
	esac
	shift
done

need_tools psql createdb dropdb curl python3
# Each subscriber is a socket in the load client and another in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt $((clients + 1000)) ] ||
	die "open files limit $(ulimit -n) is too low for $clients subscribers (raise the hard limit: ulimit -Hn)"

prepare_binary
if [ -n "${SUBSCRIPTIONS_LOAD_BIN:-}" ]; then
	load_source=$SUBSCRIPTIONS_LOAD_BIN
else
	log "building the load client (cargo build --release --example subscriptions_load)"
	(cd "$REPO_DIR" && cargo build --release --quiet --example subscriptions_load) ||
		die "cargo build --release --example subscriptions_load failed"
	load_source=$(cd "$REPO_DIR" && cargo metadata --format-version 1 --no-deps |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/subscriptions_load
fi
LOAD=$BENCH_TMP/subscriptions_load
cp "$load_source" "$LOAD"

DB=profile_api_bench_subscriptions
log "creating $DB with $users users"
dropdb --if-exists --force "$DB"
createdb "$DB"
profile_api "$DB" migrate >/dev/null
sql "$DB" -c "INSERT INTO users (id, name, surname, username, availability_status, bio)
	SELECT lpad(to_hex(n), 24, '0'), 'Name' || n, 'Surname' || n, 'user' || n, 'available', NULL
	FROM generate_series(1, $users) AS n"
sql "$DB" -c "ANALYZE"

wait_idle
start_server "$DB" "$pool"
idle_rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

log "starting $clients subscribers x $ids ids ($signed_in% signed in), then $rate changes/s for ${duration}s"
out=$BENCH_TMP/load.out
"$LOAD" --ws "ws://${SERVER_URL#http://}/graphql" --database-url "$(db_url "$DB")" \
	--secret "$BENCH_JWT_SECRET" --clients "$clients" --ids "$ids" --users "$users" \
	--rate "$rate" --duration "$duration" --signed-in "$signed_in" >"$out" &
load_pid=$!
BENCH_PIDS+=("$load_pid")
until grep -q '^ready$' "$out" 2>/dev/null; do
	kill -0 "$load_pid" 2>/dev/null || die "the load client stopped before its subscribers were ready"
	sleep 0.05
done
ready_rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
ticks_before=$(cpu_ticks "$SERVER_PID")
measured_from=$(date +%s.%N)
wait "$load_pid" || die "the load client failed"
measured_to=$(date +%s.%N)
ticks_after=$(cpu_ticks "$SERVER_PID")
peak_rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")
line=$(grep '^clients=' "$out")
stop_server

cpu_percent=$(python3 -c "print(f'{($ticks_after - $ticks_before) / $ticks_per_second / ($measured_to - $measured_from) * 100:.0f}')")

echo
echo "== live profiles: $clients subscribers x $ids ids, $rate changes/s for ${duration}s =="
describe_machine "the load client (10,000 WebSocket clients), the server under test and PostgreSQL"
printf 'subscribers: %s (%s%% signed in, each its own user), ready in %s s\n' "$(field clients "$line")" "$signed_in" "$(field connect_s "$line")"
printf 'changes:     %s at %s/s (UPDATE of a random user'"'"'s bio, stamped with the database clock)\n' "$(field changes "$line")" "$(field rate "$line")"
printf 'updates:     %s owed, %s delivered; every changed id reached %s of its %s watchers (latest state)\n' \
	"$(field expected "$line")" "$(field delivered "$line")" "$(field latest_delivered "$line")" "$(field latest_owed "$line")"
printf 'latency commit -> socket: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms   (goal: p99 <= 100 ms)\n' \
	"$(field p50_ms "$line")" "$(field p90_ms "$line")" "$(field p99_ms "$line")" "$(field max_ms "$line")"
printf 'server RSS:  %s MiB idle, %s MiB with the subscribers, peak %s MiB   (goal: <= 256 MiB)\n' \
	"$((idle_rss_kib / 1024))" "$((ready_rss_kib / 1024))" "$((peak_rss_kib / 1024))"
printf 'server CPU:  %s%% of one core while changes flowed\n' "$cpu_percent"
printf 'failures:    %s subscribers\n' "$(field failures "$line")"
print_warnings

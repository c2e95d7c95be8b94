#!/usr/bin/env bash
# Issue 11's goals, side by side in one run, on the celebrity data set (built if missing):
#
#   pgbench      the REST read's own statement (bench/pgbench/profile_read.sql), prepared
#   ceiling      axum answering the REST route with the same bytes from memory (bench/ceiling)
#   REST         GET /api/v1/users/profile/{id}, anonymous and signed in (a viewer whose
#                relations with each profile are probed), the profile cache on (the default)
#   GraphQL      profile-api  query($id: ID!) { user(id: $id) { … followersCount followingCount } }
#                PostGraphile 5 (amber preset, two Node workers)
#                             query($id: String!) { userByRowId(rowId: $id) { …
#                               followCounterByUserId { followersCount followingCount } } }
#
# Every request reads one of the HOT ordinary users (the first --hot of the 100,000, drawn
# uniformly; pgbench draws from the same ids): the hot profiles of a social app, read thousands of
# times between two changes. At the end every user of the data set is read once, which fills the
# cache to its byte budget, and the server's peak RSS is read from /proc.
#
#   bench/reads.sh [--rebuild] [--duration 10] [--rounds 2] [--connections 32] [--threads 2]
#                  [--hot 10000] [--postgraphile-workers 2] [--postgraphile-pool 8]
#
# For the ceiling and the REST reads it also reads the serving process's CPU time from /proc
# around each run and prints it per request: where the server stands against the ceiling, in
# work rather than in a rate that the load generator's share blurs.
#
# It prints each measurement, then the ratios against the goals: REST ≥ 2.0× pgbench and ≥ 0.67×
# the ceiling with p99 ≤ 10 ms, signed-in ≥ 0.8× anonymous, GraphQL ≥ 5× PostGraphile, peak RSS
# ≤ CACHE_MAX_BYTES + 64 MiB.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

rebuild= duration=10 rounds=2 connections=32 threads=2 hot=10000 pg_workers=2 pg_pool=8
while [ $# -gt 0 ]; do
	case $1 in
	--rebuild) rebuild=1 ;;
	--duration) duration=$2 && shift ;;
	--rounds) rounds=$2 && shift ;;
	--connections) connections=$2 && shift ;;
	--threads) threads=$2 && shift ;;
	--hot) hot=$2 && shift ;;
	--postgraphile-workers) pg_workers=$2 && shift ;;
	--postgraphile-pool) pg_pool=$2 && shift ;;
	*) die "unknown argument $1 (see the top of $0)" ;;
	esac
	shift
done
[ "$hot" -ge 1 ] && [ "$hot" -le 100000 ] || die "--hot must be 1 to 100000"
export WRK_THREADS=$threads
cache_budget=$((64 * 1024 * 1024)) # the server's default CACHE_MAX_BYTES

need_tools wrk pgbench psql createdb dropdb curl python3 npm
prepare_binary
prepare_ceiling
ensure_celebrity_db "$rebuild"
ids=$BENCH_TMP/ids.txt
sql "$CELEBRITY_DB" -c "select id from users where id like 'ab%' order by id limit $hot" >"$ids"
[ "$(wc -l <"$ids")" = "$hot" ] || die "expected $hot ordinary users in $CELEBRITY_DB"
install_postgraphile

# The signed-in viewer: user_1, who follows users 2, 8, 32, 102 and 998 (some of them hot).
viewer=$(printf 'ab%022x' 1)
token=$(profile_api "$CELEBRITY_DB" token --user "$viewer")

wait_idle
start_server "$CELEBRITY_DB" "$DEFAULT_POOL"
api_url=$SERVER_URL api_pid=$SERVER_PID
start_ceiling "$api_url/api/v1/users/profile/$ORDINARY_ID"
start_postgraphile "$pg_workers" "$pg_pool"
log "profile-api on $api_url, the ceiling on $CEILING_URL ($CEILING_BYTES bytes), PostGraphile on $PG_URL"

q_api='query($id: ID!) { user(id: $id) { id name username followersCount followingCount } }'
q_pg='query($id: String!) { userByRowId(rowId: $id) { id: rowId name username followCounterByUserId { followersCount followingCount } } }'
body() { printf '{"query":"%s","variables":{"id":"%s"}}' "$1" "$2"; }

# Both GraphQL servers answer the same values for the same user.
for id in "$ORDINARY_ID" "$(head -1 "$ids")"; do
	a=$(curl -fsS "$api_url/graphql" -H 'Content-Type: application/json' --data "$(body "$q_api" "$id")")
	b=$(curl -fsS "$PG_URL/graphql" -H 'Content-Type: application/json' --data "$(body "$q_pg" "$id")")
	python3 - "$a" "$b" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert "errors" not in a and "errors" not in b, (a, b)
u, v = a["data"]["user"], b["data"]["userByRowId"]
v.update(v.pop("followCounterByUserId"))
assert u == v, (u, v)
print(f"same answer from both GraphQL servers for {u['id']}: {json.dumps(u)}")
PY
done

results=$BENCH_TMP/results.tsv # round  name  per_second  p50_us  p99_us  errors  cpu_us
: >"$results"
clock_ticks=$(getconf CLK_TCK)
record() { # record ROUND NAME WRK_LINE [CPU_TICKS: the server's during the run]
	local cpu=-
	[ -n "${4:-}" ] && cpu=$(awk -v t="$4" -v hz="$clock_ticks" -v n="$(field requests "$3")" \
		'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(field rps "$3")" "$(field p50_us "$3")" \
		"$(field p99_us "$3")" "$(($(field errors "$3") + $(field non2xx "$3")))" "$cpu" >>"$results"
	log "round $1, $2: $(field rps "$3")/s, p50 $(field p50_us "$3") us, p99 $(field p99_us "$3") us, server CPU $cpu us per request"
}
# The server's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# record_served ROUND NAME PID URL [TOKEN] — a REST run, with the CPU that PID spent on it.
record_served() {
	local before line
	before=$(cpu_ticks "$3")
	line=$(rest "$4" "$duration" "${5:-}")
	record "$1" "$2" "$line" "$(($(cpu_ticks "$3") - before))"
}
rest() { # rest URL SECONDS [TOKEN]
	run_wrk "$1" "$2" "$connections" BENCH_IDS_FILE="$ids" BENCH_PATH=/api/v1/users/profile/__ID__ \
		BENCH_TOKEN="${3:-}"
}
graphql() { # graphql URL SECONDS QUERY
	run_wrk "$1" "$2" "$connections" BENCH_IDS_FILE="$ids" BENCH_PATH=/graphql BENCH_METHOD=POST \
		"BENCH_BODY=$(body "$3" __ID__)"
}
pgbench_read() { # pgbench_read ROUND
	local tps failed
	read -r tps _ failed < <(run_pgbench -j "$threads" -c "$connections" -T "$duration" -D hot="$hot" \
		-f "$BENCH_DIR/pgbench/profile_read.sql" "$CELEBRITY_DB")
	[ -n "$tps" ] || die "pgbench failed"
	printf '%s\tpgbench\t%s\t-\t-\t%s\t-\n' "$1" "$tps" "$failed" >>"$results"
	log "round $1, pgbench: $tps/s"
}
measure() { # measure ROUND WHAT
	case $2 in
	pgbench) pgbench_read "$1" ;;
	ceiling) record_served "$1" ceiling "$CEILING_PID" "$CEILING_URL" ;;
	rest-anonymous) record_served "$1" "REST anonymous" "$api_pid" "$api_url" ;;
	rest-signed-in) record_served "$1" "REST signed in" "$api_pid" "$api_url" "$token" ;;
	graphql) record "$1" "GraphQL profile-api" "$(graphql "$api_url" "$duration" "$q_api")" ;;
	postgraphile) record "$1" "GraphQL PostGraphile" "$(graphql "$PG_URL" "$duration" "$q_pg")" ;;
	esac
}

log "warm-up: 5 s of each (fills the profile cache with the hot profiles)"
rest "$api_url" 5 >/dev/null
rest "$api_url" 5 "$token" >/dev/null
graphql "$api_url" 5 "$q_api" >/dev/null
graphql "$PG_URL" 5 "$q_pg" >/dev/null
rest "$CEILING_URL" 2 >/dev/null
order=(pgbench ceiling rest-anonymous rest-signed-in graphql postgraphile)
for round in $(seq 1 "$rounds"); do
	for what in "${order[@]}"; do
		measure "$round" "$what"
	done
	# The next round in the reverse order: no measurement always gets the same slot.
	for ((i = ${#order[@]} - 1, j = 0; i > j; i--, j++)); do
		swap=${order[i]} order[i]=${order[j]} order[j]=$swap
	done
done
# Memory with the cache full: every user of the data set read once (100 to a GraphQL request),
# far more than the byte budget holds.
sql "$CELEBRITY_DB" -c "select id from users order by id" >"$BENCH_TMP/all-ids.txt"
log "filling the cache: all $(wc -l <"$BENCH_TMP/all-ids.txt") users, 100 to a GraphQL request"
python3 "$BENCH_DIR/fill/fill_cache.py" "$api_url" "$BENCH_TMP/all-ids.txt" >/dev/null ||
	die "filling the cache failed"
peak_rss_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$api_pid/status")
curl -fsS "$api_url/metrics" | grep -E '^(profile_cache_((hits|misses|bypassed|flushes)_total|entries|bytes)|graphql_document_cache_total)' >"$BENCH_TMP/metrics.txt" || true
stop_postgraphile
stop_ceiling
stop_server

echo
echo "=== Reads: profile-api against pgbench, the ceiling and PostGraphile, $(date -u '+%Y-%m-%d %H:%M UTC') ==="
describe_machine
echo "data:    $CELEBRITY_DB; each request reads one of $hot hot ordinary users, drawn uniformly"
echo "load:    wrk -t $threads -c $connections and pgbench -M prepared -j $threads -c $connections, ${duration}s a run"
echo "         after a 5 s warm-up of each; $rounds rounds, the order reversed every other round"
echo "servers: profile-api serve (defaults: cache on, CACHE_MAX_BYTES 64 MiB, DB_POOL_SIZE $DEFAULT_POOL);"
echo "         the ceiling ($CEILING_BYTES bytes from memory); PostGraphile $PG_VERSION on node $PG_NODE_VERSION"
echo "         (amber preset, $pg_workers workers of $pg_pool connections, no GraphiQL)"
echo "profile cache at the end (after reading all users once):"
sed 's/^/         /' "$BENCH_TMP/metrics.txt"
print_warnings
python3 - "$results" "$peak_rss_kib" "$cache_budget" <<'PY'
import collections, statistics, sys
by = collections.defaultdict(list)
for line in open(sys.argv[1]):
    _, name, rate, p50, p99, errors, cpu = line.rstrip("\n").split("\t")
    by[name].append((float(rate), None if p50 == "-" else int(p50), None if p99 == "-" else int(p99),
                     int(errors or 0), None if cpu == "-" else float(cpu)))
rate = lambda name: statistics.mean(r[0] for r in by[name])
p99 = lambda name: statistics.mean(r[2] for r in by[name]) / 1000
print()
print(f"{'measurement':<22} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'CPU us':>7}"
      "   per round (per s)")
for name in ["pgbench", "ceiling", "REST anonymous", "REST signed in", "GraphQL profile-api",
             "GraphQL PostGraphile"]:
    rows = by[name]
    lat = lambda i: "-" if rows[0][i] is None else f"{statistics.mean(r[i] for r in rows) / 1000:.3f}"
    cpu = "-" if rows[0][4] is None else f"{statistics.mean(r[4] for r in rows):.1f}"
    print(f"{name:<22} {rate(name):>8.0f} {lat(1):>8} {lat(2):>8} {sum(r[3] for r in rows):>7} {cpu:>7}   "
          + " ".join(f"{r[0]:.0f}" for r in rows))
print("CPU us: the serving process's own CPU time (user + system, /proc) per request, where measured;"
      "\n        it counts a repeated run too if a build forced one (see the warnings above)")
peak_mib = int(sys.argv[2]) / 1024
budget_mib = int(sys.argv[3]) / 1024 / 1024
goals = [
    ("REST anonymous / pgbench", rate("REST anonymous") / rate("pgbench"), ">=", 2.0),
    ("REST anonymous / ceiling", rate("REST anonymous") / rate("ceiling"), ">=", 0.67),
    ("REST anonymous p99 (ms)", p99("REST anonymous"), "<=", 10.0),
    ("REST signed in / anonymous", rate("REST signed in") / rate("REST anonymous"), ">=", 0.8),
    ("GraphQL / PostGraphile", rate("GraphQL profile-api") / rate("GraphQL PostGraphile"), ">=", 5.0),
    ("peak RSS (MiB)", peak_mib, "<=", budget_mib + 64),
]
print()
print(f"{'goal':<28} {'measured':>9}   target")
for name, value, op, target in goals:
    met = value >= target if op == ">=" else value <= target
    print(f"{name:<28} {value:>9.2f}   {op} {target:<7g} {'met' if met else 'NOT MET'}")
if any(r[3] for rows in by.values() for r in rows):
    print("WARNING: some runs had failed requests (errors or non-2xx answers)")
PY

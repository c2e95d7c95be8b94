#!/usr/bin/env bash
# profile-api's GraphQL against a generic GraphQL-over-PostgreSQL server, PostGraphile 5 (npm,
# amber preset, on Node 22; pinned in bench/postgraphile/package-lock.json), on the same machine and the same database (the
# celebrity data set, built if missing), under the same wrk settings, a random user per request.
#
#   bench/graphql_vs_postgraphile.sh [--rebuild] [--duration S] [--rounds N] [--connections N]
#                                    [--pool N] [--postgraphile-pool N] [--postgraphile-workers N]
#
# Defaults: profile-api with its default pool (twice the cores: 4 here; its tokio runtime uses
# both cores); PostGraphile with 2 workers (bench/postgraphile/server.mjs: node runs JavaScript on
# one core per process) of 8 connections each.
#
# The compared operations (both anonymous, both a user by primary key):
#   profile-api   { user(id: $id) { id name username followersCount followingCount } }
#   PostGraphile  { userByRowId(rowId: $id) { id: rowId name username
#                     followCounterByUserId { followersCount followingCount } } }
# and the same two without the counts. See bench/README.md for how far they are equivalent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

rebuild= duration=10 rounds=2 connections=8 pool=$DEFAULT_POOL pg_pool=8 pg_workers=2
while [ $# -gt 0 ]; do
	case $1 in
	--rebuild) rebuild=1 ;;
	--duration) duration=$2 && shift ;;
	--rounds) rounds=$2 && shift ;;
	--connections) connections=$2 && shift ;;
	--pool) pool=$2 && shift ;;
	--postgraphile-pool) pg_pool=$2 && shift ;;
	--postgraphile-workers) pg_workers=$2 && shift ;;
	*) die "unknown argument $1 (see the top of $0)" ;;
	esac
	shift
done

need_tools wrk npm psql createdb dropdb curl python3
prepare_binary
ensure_celebrity_db "$rebuild"
ids=$BENCH_TMP/ids.txt
sql "$CELEBRITY_DB" -c "select id from users where id like 'ab%' order by id" >"$ids"

install_postgraphile

q_api='{ user(id: \"__ID__\") { id name username followersCount followingCount } }'
q_pg='{ userByRowId(rowId: \"__ID__\") { id: rowId name username followCounterByUserId { followersCount followingCount } } }'
q_api_plain='{ user(id: \"__ID__\") { id name username } }'
q_pg_plain='{ userByRowId(rowId: \"__ID__\") { id: rowId name username } }'

wait_idle
start_server "$CELEBRITY_DB" "$pool"
start_postgraphile "$pg_workers" "$pg_pool"
log "profile-api on $SERVER_URL (pool $pool),"
log "PostGraphile $PG_VERSION on $PG_URL (pool $pg_pool, workers $pg_workers)"

# Both answer the same values for the same user (checked on the celebrity and an ordinary user).
for id in "$CELEBRITY_ID" "$ORDINARY_ID"; do
	a=$(curl -fsS "$SERVER_URL/graphql" -H 'Content-Type: application/json' --data "{\"query\":\"${q_api//__ID__/$id}\"}")
	b=$(curl -fsS "$PG_URL/graphql" -H 'Content-Type: application/json' --data "{\"query\":\"${q_pg//__ID__/$id}\"}")
	python3 - "$a" "$b" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert "errors" not in a and "errors" not in b, (a, b)
u, v = a["data"]["user"], b["data"]["userByRowId"]
c = v.pop("followCounterByUserId")
v.update(c)
assert u == v, (u, v)
print(f"same answer from both for {u['id']}: {json.dumps(u)}")
PY
done

results=$BENCH_TMP/results.tsv
: >"$results"
measure() { # measure ROUND NAME URL QUERY SECONDS
	local line
	line=$(run_wrk "$3" "$5" "$connections" BENCH_IDS_FILE="$ids" BENCH_PATH=/graphql BENCH_METHOD=POST \
		"BENCH_BODY={\"query\":\"$4\"}")
	[ "$1" = warmup ] && return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(field rps "$line")" "$(field p50_us "$line")" \
		"$(field p99_us "$line")" "$(field mean_us "$line")" "$(($(field errors "$line") + $(field non2xx "$line")))" >>"$results"
	log "round $1 $2: $(field rps "$line") req/s, p50 $(field p50_us "$line") us, p99 $(field p99_us "$line") us"
}
log "warm-up: 5 s each"
measure warmup - "$SERVER_URL" "$q_api" 5
measure warmup - "$PG_URL" "$q_pg" 5
for round in $(seq 1 "$rounds"); do
	if [ $((round % 2)) -eq 1 ]; then order="api pg"; else order="pg api"; fi
	for kind in counts plain; do
		for who in $order; do
			case $who-$kind in
			api-counts) measure "$round" "profile-api counts" "$SERVER_URL" "$q_api" "$duration" ;;
			pg-counts) measure "$round" "PostGraphile counts" "$PG_URL" "$q_pg" "$duration" ;;
			api-plain) measure "$round" "profile-api plain" "$SERVER_URL" "$q_api_plain" "$duration" ;;
			pg-plain) measure "$round" "PostGraphile plain" "$PG_URL" "$q_pg_plain" "$duration" ;;
			esac
		done
	done
done
stop_postgraphile
stop_server

echo
echo "=== GraphQL: profile-api vs PostGraphile, $(date -u '+%Y-%m-%d %H:%M UTC') ==="
describe_machine
echo "data:   $CELEBRITY_DB; each request reads one of its 100,000 ordinary users, drawn uniformly"
echo "load:   wrk, 1 thread, $connections connections, ${duration}s per run after a 5 s warm-up; $rounds rounds,"
echo "        the two servers' order alternating; figures are the mean over the rounds"
echo "servers: profile-api serve (DB_POOL_SIZE=$pool, RUST_LOG=warn);"
echo "         PostGraphile $PG_VERSION on node $PG_NODE_VERSION (amber preset, pool $pg_pool,"
echo "         $pg_workers process(es), no GraphiQL; bench/postgraphile/server.mjs)"
echo "queries: counts  profile-api  { user(id) { id name username followersCount followingCount } }"
echo "                 PostGraphile { userByRowId(rowId) { id: rowId name username followCounterByUserId { followersCount followingCount } } }"
echo "         plain   the same without the counts"
print_warnings
python3 - "$results" <<'PY'
import collections, statistics, sys
by = collections.defaultdict(list)
for line in open(sys.argv[1]):
    _, name, rps, p50, p99, mean, errors = line.rstrip("\n").split("\t")
    by[name].append((float(rps), int(p50), int(p99), float(mean), int(errors)))
m = lambda name, i: statistics.mean(r[i] for r in by[name])
print()
print(f"{'server, query':<27} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}   per round (req/s)")
for name in ["profile-api counts", "PostGraphile counts", "profile-api plain", "PostGraphile plain"]:
    print(f"{name:<27} {m(name, 0):>8.0f} {m(name, 1) / 1000:>8.3f} {m(name, 2) / 1000:>8.3f} "
          f"{sum(r[4] for r in by[name]):>7}   " + " ".join(f"{r[0]:.0f}" for r in by[name]))
print()
for kind in ["counts", "plain"]:
    a, b = f"profile-api {kind}", f"PostGraphile {kind}"
    print(f"profile-api / PostGraphile, {kind}: throughput {m(a, 0) / m(b, 0):.2f}, "
          f"p50 latency {m(a, 1) / m(b, 1):.2f}")
PY

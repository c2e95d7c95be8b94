#!/usr/bin/env bash
# The celebrity benchmark (issue 5): is a profile followed by 500,000 users as cheap to read as
# one followed by five? Reads the celebrity and an ordinary user through REST and GraphQL, side
# by side in one run, and prints the celebrity/ordinary latency ratio (the target: <= 1.2).
#
#   bench/celebrity.sh [--rebuild] [--duration S] [--warmup S] [--rounds N]
#                      [--connections N] [--pool N]
#
# See bench/README.md for what it does and what it printed here.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

rebuild= duration=10 warmup=3 rounds=2 connections=8 pool=$DEFAULT_POOL
while [ $# -gt 0 ]; do
	case $1 in
	--rebuild) rebuild=1 ;;
	--duration) duration=$2 && shift ;;
	--warmup) warmup=$2 && shift ;;
	--rounds) rounds=$2 && shift ;;
	--connections) connections=$2 && shift ;;
	--pool) pool=$2 && shift ;;
	*) die "unknown argument $1 (see the top of $0)" ;;
	esac
	shift
done

need_tools wrk psql createdb dropdb curl python3
prepare_binary
ensure_celebrity_db "$rebuild"

GRAPHQL_BODY='{"query":"{ user(id: \"__ID__\") { id name username followersCount followingCount } }"}'

# target NAME USER_ID -> the wrk settings of one of the four measured reads
target_args() {
	case $1 in
	rest-*) printf '%s\n' BENCH_PATH="/api/v1/users/profile/$2" ;;
	graphql-*) printf '%s\n' BENCH_PATH=/graphql BENCH_METHOD=POST "BENCH_BODY=${GRAPHQL_BODY//__ID__/$2}" ;;
	esac
}
user_of() { case $1 in *-celebrity) echo "$CELEBRITY_ID" ;; *) echo "$ORDINARY_ID" ;; esac }

wait_idle
start_server "$CELEBRITY_DB" "$pool"

# What the four reads answer, checked before anything is measured.
for who in celebrity ordinary; do
	id=$(user_of "x-$who")
	rest=$(curl -fsS "$SERVER_URL/api/v1/users/profile/$id")
	graphql=$(curl -fsS "$SERVER_URL/graphql" -H 'Content-Type: application/json' --data "${GRAPHQL_BODY//__ID__/$id}")
	python3 - "$who" "$rest" "$graphql" <<'PY'
import json, sys
who, rest, graphql = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
assert rest["isSuccess"], rest
assert "errors" not in graphql, graphql
r, g = rest["data"], graphql["data"]["user"]
assert (r["followersCount"], r["followingCount"]) == (g["followersCount"], g["followingCount"]), (r, g)
print(f"{who}: @{r['username']} ({r['_id']}): followersCount {r['followersCount']}, "
      f"followingCount {r['followingCount']} (REST and GraphQL agree); REST body {len(sys.argv[2])} bytes")
PY
done

results=$BENCH_TMP/results.tsv
: >"$results"
measure() { # measure ROUND TARGET SECONDS
	local line
	mapfile -t args < <(target_args "$2" "$(user_of "$2")")
	line=$(run_wrk "$SERVER_URL" "$3" "$connections" "${args[@]}")
	[ "$1" = warmup ] && return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(field rps "$line")" "$(field p50_us "$line")" \
		"$(field p99_us "$line")" "$(field errors "$line")" "$(field non2xx "$line")" >>"$results"
	log "round $1 $2: $(field rps "$line") req/s, p50 $(field p50_us "$line") us, p99 $(field p99_us "$line") us"
}

log "warm-up: ${warmup}s per read"
for t in rest-ordinary rest-celebrity graphql-ordinary graphql-celebrity; do
	measure warmup "$t" "$warmup"
done
log "measuring: $rounds rounds x 4 reads x ${duration}s, wrk 1 thread, $connections connections, pool $pool"
for round in $(seq 1 "$rounds"); do
	# Alternate which of the pair goes first, so neither always gets the warmer (or the colder) slot.
	if [ $((round % 2)) -eq 1 ]; then order="ordinary celebrity"; else order="celebrity ordinary"; fi
	for api in rest graphql; do
		for who in $order; do
			measure "$round" "$api-$who" "$duration"
		done
	done
done
stop_server

echo
echo "=== celebrity vs ordinary profile read, $(date -u '+%Y-%m-%d %H:%M UTC') ==="
describe_machine
echo "server: profile-api serve, DB_POOL_SIZE=$pool, RUST_LOG=warn; database $CELEBRITY_DB"
echo "load:   wrk, 1 thread, $connections connections, ${duration}s per run after a ${warmup}s warm-up of each read;"
echo "        $rounds rounds, each running REST (ordinary, celebrity) then GraphQL (same), the pair's order"
echo "        alternating between rounds; figures are the mean over the rounds"
echo "reads:  REST    GET /api/v1/users/profile/{id} (the whole profile in the legacy envelope)"
echo "        GraphQL POST /graphql { user(id) { id name username followersCount followingCount } }"
echo "        celebrity $CELEBRITY_ID (500,000 followers), ordinary $ORDINARY_ID (5 followers)"
print_warnings
python3 - "$results" <<'PY'
import collections, statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
by = collections.defaultdict(list)
for round_, target, rps, p50, p99, errors, non2xx in rows:
    by[target].append((float(rps), int(p50), int(p99), int(errors), int(non2xx)))
def mean(target, i):
    return statistics.mean(r[i] for r in by[target])
print()
print(f"{'read':<20} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}   per round (req/s)")
for target in ["rest-ordinary", "rest-celebrity", "graphql-ordinary", "graphql-celebrity"]:
    errors = sum(r[3] + r[4] for r in by[target])
    rounds = " ".join(f"{r[0]:.0f}" for r in by[target])
    print(f"{target:<20} {mean(target, 0):>9.0f} {mean(target, 1) / 1000:>8.3f} "
          f"{mean(target, 2) / 1000:>8.3f} {errors:>7}   {rounds}")
print()
print(f"{'celebrity/ordinary':<20} {'p50':>7} {'p99':>7} {'1/(req/s)':>10}   target: p50 ratio <= 1.2")
verdicts = []
for api in ["rest", "graphql"]:
    c, o = f"{api}-celebrity", f"{api}-ordinary"
    p50 = mean(c, 1) / mean(o, 1)
    p99 = mean(c, 2) / mean(o, 2)
    thr = mean(o, 0) / mean(c, 0)
    verdicts.append(f"{api.upper()} {'met' if p50 <= 1.2 else 'NOT met'}")
    print(f"{api.upper():<20} {p50:>7.2f} {p99:>7.2f} {thr:>10.2f}")
print()
print("result: " + ", ".join(verdicts))
if any(r[3] or r[4] for rs in by.values() for r in rs):
    print("WARNING: some requests failed (errors column): the figures are not clean")
PY

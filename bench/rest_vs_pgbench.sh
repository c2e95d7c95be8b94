#!/usr/bin/env bash
# How close does the REST profile read come to what PostgreSQL alone can do? Measures, on the
# celebrity data set (bench/celebrity.sh builds it; this script does too if it is missing):
#   pgbench, select-only, one `users` row by primary key (bench/pgbench/users_by_pk.sql);
#   pgbench, the very statement the REST read sends (bench/pgbench/profile_read.sql);
#   wrk, GET /api/v1/users/profile/{id} with a random id per request;
# all with ids drawn uniformly from the same 100,000 users, at each client count and (for REST)
# each DB_POOL_SIZE, and prints the throughputs and the ratio REST / pgbench.
#
#   bench/rest_vs_pgbench.sh [--rebuild] [--duration S] [--connections "4 8 32 64"] [--pools "4 8 16 32"]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

rebuild= duration=10 connections="4 8 32 64" pools="4 8 16 32"
while [ $# -gt 0 ]; do
	case $1 in
	--rebuild) rebuild=1 ;;
	--duration) duration=$2 && shift ;;
	--connections) connections=$2 && shift ;;
	--pools) pools=$2 && shift ;;
	*) die "unknown argument $1 (see the top of $0)" ;;
	esac
	shift
done

need_tools wrk pgbench psql createdb dropdb curl python3
prepare_binary
ensure_celebrity_db "$rebuild"
ids=$BENCH_TMP/ids.txt
sql "$CELEBRITY_DB" -c "select id from users where id like 'ab%' order by id" >"$ids"
[ "$(wc -l <"$ids")" = 100000 ] || die "expected 100,000 ordinary users in $CELEBRITY_DB"

results=$BENCH_TMP/results.tsv # kind  pool  clients  per_second  latency_ms  p99_ms  errors
: >"$results"

wait_idle
for c in $connections; do
	for script in users_by_pk profile_read; do
		read -r tps lat failed < <(run_pgbench -j 1 -c "$c" -T "$duration" -D hot=100000 \
			-f "$BENCH_DIR/pgbench/$script.sql" "$CELEBRITY_DB")
		[ -n "$tps" ] || die "pgbench failed"
		printf 'pgbench-%s\t-\t%s\t%s\t%s\t-\t%s\n' "$script" "$c" "$tps" "$lat" "$failed" >>"$results"
		log "pgbench $script, $c clients: $tps tps, latency average $lat ms"
	done
done
for pool in $pools; do
	start_server "$CELEBRITY_DB" "$pool"
	run_wrk "$SERVER_URL" 3 16 BENCH_IDS_FILE="$ids" BENCH_PATH=/api/v1/users/profile/__ID__ >/dev/null
	for c in $connections; do
		line=$(run_wrk "$SERVER_URL" "$duration" "$c" BENCH_IDS_FILE="$ids" BENCH_PATH=/api/v1/users/profile/__ID__)
		printf 'rest\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pool" "$c" "$(field rps "$line")" \
			"$(awk -v us="$(field mean_us "$line")" 'BEGIN { printf "%.3f", us / 1000 }')" \
			"$(awk -v us="$(field p99_us "$line")" 'BEGIN { printf "%.3f", us / 1000 }')" \
			"$(($(field errors "$line") + $(field non2xx "$line")))" >>"$results"
		log "REST, pool $pool, $c connections: $(field rps "$line") req/s, mean $(field mean_us "$line") us"
	done
	stop_server
done

echo
echo "=== REST profile read vs pgbench, $(date -u '+%Y-%m-%d %H:%M UTC') ==="
describe_machine
echo "data:    $CELEBRITY_DB; every request reads one of its 100,000 ordinary users, drawn uniformly"
echo "pgbench: -M prepared -j 1 -c N -T ${duration}s"
echo "         pk   = SELECT * FROM users WHERE id = ...  (bench/pgbench/users_by_pk.sql)"
echo "         stmt = the REST read's own statement, 3 tables joined (bench/pgbench/profile_read.sql)"
echo "REST:    wrk -t 1 -c N -d ${duration}s, GET /api/v1/users/profile/{random id} (after a 3 s warm-up),"
echo "         profile-api serve with DB_POOL_SIZE=P, RUST_LOG=warn"
print_warnings
python3 - "$results" <<'PY'
import collections, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
pg = {(r[0], int(r[2])): (float(r[3]), float(r[4])) for r in rows if r[0].startswith("pgbench")}
rest = {(int(r[1]), int(r[2])): (float(r[3]), float(r[4]), float(r[5]), int(r[6]))
        for r in rows if r[0] == "rest"}
clients = sorted({c for _, c in pg})
pools = sorted({p for p, _ in rest})
print()
print("throughput (requests or transactions per second; latency = mean, ms)")
head = f"{'clients':>7} {'pgbench pk':>17} {'pgbench stmt':>17}"
head += "".join(f" {'REST pool ' + str(p):>17}" for p in pools)
print(head)
for c in clients:
    line = f"{c:>7}"
    for kind in ["pgbench-users_by_pk", "pgbench-profile_read"]:
        tps, lat = pg[(kind, c)]
        line += f" {tps:>8.0f} ({lat:>5.2f})"
    for p in pools:
        rps, mean, p99, errors = rest[(p, c)]
        line += f" {rps:>8.0f} ({mean:>5.2f})" + ("!" if errors else "")
    print(line)
print()
print(f"{'clients':>7} {'best REST':>18} {'REST/pgbench pk':>16} {'REST/pgbench stmt':>18}")
best_overall = max(rest.items(), key=lambda kv: kv[1][0])
for c in clients:
    pool, (rps, mean, p99, _) = max(((p, rest[(p, c)]) for p in pools), key=lambda x: x[1][0])
    print(f"{c:>7} {rps:>8.0f} (pool {pool:>2}) {rps / pg[('pgbench-users_by_pk', c)][0]:>16.2f} "
          f"{rps / pg[('pgbench-profile_read', c)][0]:>18.2f}")
(p, c), (rps, mean, p99, _) = best_overall
print()
print(f"best REST setting here: DB_POOL_SIZE={p} with {c} connections: {rps:.0f} req/s "
      f"(mean {mean:.2f} ms, p99 {p99:.2f} ms)")
for kind, label in [("pgbench-users_by_pk", "pk"), ("pgbench-profile_read", "stmt")]:
    c_best = max((c for k, c in pg if k == kind), key=lambda c: pg[(kind, c)][0])
    tps = pg[(kind, c_best)][0]
    print(f"best pgbench {label}: {tps:.0f} tps with {c_best} clients; best REST / best pgbench {label}: "
          f"{rps / tps:.2f}")
if any(v[3] for v in rest.values()):
    print("WARNING: '!' marks runs with failed requests (errors or non-2xx answers)")
PY

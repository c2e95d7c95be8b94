#!/usr/bin/env bash
# How long `profile-api import` takes, and how much memory it needs, on the export that
# scripts/gen_import_fixture.py writes (100,000 users, 1,000,000 follows by default), loaded into
# a freshly created and migrated database (profile_api_bench_import, dropped and made anew).
#
#   bench/import.sh [--users N] [--follows N] [--batch-size N]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

users=100000 follows=1000000 batch=
while [ $# -gt 0 ]; do
	case $1 in
	--users) users=$2 && shift ;;
	--follows) follows=$2 && shift ;;
	--batch-size) batch=$2 && shift ;;
	*) die "unknown argument $1 (see the top of $0)" ;;
	esac
	shift
done
db=profile_api_bench_import

need_tools psql createdb dropdb python3
[ -x /usr/bin/time ] || need_tools time
prepare_binary

fixture=$BENCH_TMP/fixture
log "writing the export: $users users, $follows follows (scripts/gen_import_fixture.py)"
python3 "$REPO_DIR/scripts/gen_import_fixture.py" "$fixture" --users "$users" --follows "$follows"
dropdb --if-exists --force "$db"
createdb "$db"
profile_api "$db" migrate >/dev/null

wait_idle
started=$(date +%s)
log "profile-api import (under /usr/bin/time -v)"
args=(import "$fixture")
[ -n "$batch" ] && args+=(--batch-size "$batch")
/usr/bin/time -v -o "$BENCH_TMP/time.txt" env DATABASE_URL="$(db_url "$db")" DATA_DIR="$BENCH_TMP/data" \
	RUST_LOG=warn LOG_FORMAT=json "$PROFILE_API" "${args[@]}" >"$BENCH_TMP/report.txt" 2>"$BENCH_TMP/import.err" || {
	cat "$BENCH_TMP/import.err" "$BENCH_TMP/report.txt" >&2
	die "the import failed"
}
build_since "$started" && echo "WARNING: a build ran during the import: its time is skewed" >>"$BENCH_TMP/warnings"
elapsed=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$BENCH_TMP/time.txt")
rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$BENCH_TMP/time.txt")
cpu=$(sed -n 's/.*Percent of CPU this job got: //p' "$BENCH_TMP/time.txt")

echo
echo "=== profile-api import, $(date -u '+%Y-%m-%d %H:%M UTC') ==="
describe_machine "the import and PostgreSQL"
echo "input:  scripts/gen_import_fixture.py --users $users --follows $follows, $(du -sh "$fixture" | cut -f1) of JSON lines:"
for f in "$fixture"/*.jsonl; do
	echo "        $(basename "$f"): $(wc -l <"$f") lines, $(du -h "$f" | cut -f1)"
done
print_warnings
echo "target: a new, migrated database ($db) on the local PostgreSQL${batch:+, --batch-size $batch}"
echo
echo "wall clock:             $elapsed"
echo "peak memory (max RSS):  $((rss_kb / 1024)) MiB ($rss_kb kB)"
echo "CPU of the import:      $cpu (PostgreSQL's own work is not in this figure)"
echo
echo "the import's report:"
sed 's/^/  /' "$BENCH_TMP/report.txt" | head -30
echo
echo "database afterwards: $(sql "$db" -c "select count(*) from users") users, $(sql "$db" -c "select count(*) from follows") follows, $(sql "$db" -c "select pg_size_pretty(pg_database_size(current_database()))")"
recount "$db"

#!/usr/bin/env bash
# How fast `profile-api import` goes (documents per second) and how much memory it needs (peak
# RSS), at one or more sizes of the export scripts/gen_import_fixture.py writes: scale 1 is
# 100,000 users (a third with a photo: 33,334 media) and 1,000,000 follows; scale 10 is ten times
# that. Each size is loaded into a freshly created and migrated database
# (profile_api_bench_import, dropped and made anew), and the sizes are printed side by side.
#
#   bench/import.sh [--scale 1,10] [--users N --follows N] [--batch-size N]
#
# --scale takes a comma-separated list (default 1); --users/--follows set one size by hand.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

scales=1 users= follows= batch=
while [ $# -gt 0 ]; do
	case $1 in
	--scale) scales=$2 && shift ;;
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

sizes=()
if [ -n "$users$follows" ]; then
	sizes+=("${users:-100000}:${follows:-1000000}")
else
	IFS=, read -ra list <<<"$scales"
	for s in "${list[@]}"; do
		sizes+=("$((100000 * s)):$((1000000 * s))")
	done
fi

summary=()
for size in "${sizes[@]}"; do
	users=${size%:*} follows=${size#*:}
	fixture=$BENCH_TMP/fixture
	rm -rf "$fixture"
	log "writing the export: $users users, $follows follows (scripts/gen_import_fixture.py)"
	python3 "$REPO_DIR/scripts/gen_import_fixture.py" "$fixture" --users "$users" --follows "$follows"
	documents=$(cat "$fixture"/*.jsonl | wc -l)
	bytes=$(du -sh "$fixture" | cut -f1)
	dropdb --if-exists --force "$db"
	createdb "$db"
	profile_api "$db" migrate >/dev/null

	wait_idle
	started=$(date +%s)
	log "profile-api import of $documents documents (under /usr/bin/time -v)"
	args=(import "$fixture")
	[ -n "$batch" ] && args+=(--batch-size "$batch")
	/usr/bin/time -v -o "$BENCH_TMP/time.txt" env DATABASE_URL="$(db_url "$db")" DATA_DIR="$BENCH_TMP/data" \
		RUST_LOG=info LOG_FORMAT=json "$PROFILE_API" "${args[@]}" >"$BENCH_TMP/report.txt" 2>"$BENCH_TMP/import.err" || {
		cat "$BENCH_TMP/import.err" "$BENCH_TMP/report.txt" >&2
		die "the import failed"
	}
	build_since "$started" && echo "WARNING: a build ran during the import of $users users: its time is skewed" >>"$BENCH_TMP/warnings"
	elapsed=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$BENCH_TMP/time.txt")
	seconds=$(echo "$elapsed" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$BENCH_TMP/time.txt")
	cpu=$(sed -n 's/.*Percent of CPU this job got: //p' "$BENCH_TMP/time.txt")
	rate=$(awk -v d="$documents" -v s="$seconds" 'BEGIN { printf "%.0f", d / s }')

	echo
	echo "--- $users users, $follows follows: $documents documents, $bytes of JSON lines"
	for f in "$fixture"/*.jsonl; do
		echo "    $(basename "$f"): $(wc -l <"$f") lines, $(du -h "$f" | cut -f1)"
	done
	echo "    wall clock $elapsed, $rate documents/s, peak RSS $((rss_kb / 1024)) MiB, CPU of the import $cpu"
	echo "    per file (the import's log):"
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    e = e.get("fields", e)
    if e.get("message") == "file imported":
        print("      %8s: %9d documents in %7.1f s, %9.0f/s"
              % (e["pass"], e["documents"], e["seconds"], e["documents_per_second"]))
    elif e.get("message") == "staged follows merged":
        print("                (of which the merge of the staged follows: %.1f s)" % e["seconds"])
' "$BENCH_TMP/import.err"
	echo "    the import's report:"
	sed 's/^/      /' "$BENCH_TMP/report.txt" | head -12
	echo "    database afterwards: $(sql "$db" -c "select count(*) from users") users, $(sql "$db" -c "select count(*) from follows") follows, $(sql "$db" -c "select pg_size_pretty(pg_database_size(current_database()))")"
	recount "$db" | sed 's/^/    /'
	summary+=("$(printf '%-26s %12s %14s %12s %10s' "$users users/$follows follows" "$documents" "$rate" "$((rss_kb / 1024)) MiB" "$elapsed")")
	rm -rf "$fixture"
done

echo
echo "=== profile-api import, $(date -u '+%Y-%m-%d %H:%M UTC') ==="
describe_machine "the import and PostgreSQL"
print_warnings
echo "target: a new, migrated database ($db) on the local PostgreSQL${batch:+, --batch-size $batch}"
echo
printf '%-26s %12s %14s %12s %10s\n' "size" "documents" "documents/s" "peak RSS" "wall clock"
printf '%s\n' "${summary[@]}"

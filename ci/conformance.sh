#!/usr/bin/env bash
# Third-party checkers against a server this script starts on a fresh, seeded database:
#  - the `graphql-http` audit of the GraphQL-over-HTTP spec (every MUST and SHOULD must pass);
#  - schemathesis against /api/openapi.json and /graphql, anonymously and with a token: no 5xx,
#    responses that conform to the document, and requests the document rejects rejected.
# Fails on any finding. Both tools are pinned and installed here: npm ci in
# ci/graphql-http-audit, pip into a virtual environment under target/.
#
#   ci/conformance.sh [path/to/profile-api]     (default: target/debug/profile-api)
#
# SCHEMATHESIS_REST_EXAMPLES (default 100) and SCHEMATHESIS_GRAPHQL_EXAMPLES (default 150) bound
# the cases schemathesis generates per operation in its fuzzing phase; for REST its examples,
# coverage and stateful phases add their own (several hundred per operation in all).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

REST_EXAMPLES="${SCHEMATHESIS_REST_EXAMPLES:-100}"
GRAPHQL_EXAMPLES="${SCHEMATHESIS_GRAPHQL_EXAMPLES:-150}"
VENV="$ROOT/target/ci-venv"

log "installing the checkers"
(cd "$ROOT/ci/graphql-http-audit" && npm ci --no-audit --no-fund --loglevel=error)
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/ci/schemathesis/requirements.txt"

cd "$ROOT"
fresh_database conformance
start_server
TOKEN="$("$BIN" token --user 507f1f77bcf86cd799439011 --ttl 1h)"

log "graphql-http audit of $BASE_URL/graphql"
node "$ROOT/ci/graphql-http-audit/audit.mjs" "$BASE_URL/graphql"

# schemathesis NAME EXAMPLES ARGS...: a fixed seed so that a finding can be replayed, no shrinking
# (time); the checks are in ci/schemathesis/schemathesis.toml.
schemathesis() {
    local name="$1" examples="$2"
    shift 2
    log "schemathesis: $name"
    "$VENV/bin/schemathesis" --config-file "$ROOT/ci/schemathesis/schemathesis.toml" run \
        --max-examples "$examples" --seed 20261201 --no-shrink \
        --report junit --report-junit-path "$LOG_DIR/$SCRIPT-schemathesis-$name.xml" \
        "$@"
}
schemathesis rest-anonymous "$REST_EXAMPLES" "$BASE_URL/api/openapi.json"
schemathesis rest-token "$REST_EXAMPLES" "$BASE_URL/api/openapi.json" -H "Authorization: Bearer $TOKEN"
schemathesis graphql-anonymous "$GRAPHQL_EXAMPLES" "$BASE_URL/graphql"
schemathesis graphql-token "$GRAPHQL_EXAMPLES" "$BASE_URL/graphql" -H "Authorization: Bearer $TOKEN"

log "conformance: every check passed"

#!/usr/bin/env bash
# Re-vendors the browser bundles that the binary serves at /api/docs (Swagger UI) and /graphql
# (GraphiQL with React), so both pages work offline and under a strict Content-Security-Policy.
#
# Each package is fetched from the npm registry with `npm pack` (which checks the tarball against
# the registry's integrity hash) and only the files the pages load, plus the licences, are copied
# into assets/. Change a version below, run this script, then run the tests: the screenshot test
# shows whether the new bundle still renders.
set -euo pipefail
cd "$(dirname "$0")/.."

SWAGGER_UI_DIST=5.35.0
GRAPHIQL=3.8.3 # GraphiQL 3 ships a UMD bundle; 4 and later need a bundler
REACT=18.3.1   # React 19 no longer ships UMD builds

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# unpack NAME VERSION: the package's files under $work/NAME/package
unpack() {
    local name=$1 version=$2 tarball
    mkdir -p "$work/$name"
    tarball=$(npm pack --silent --pack-destination "$work" "$name@$version" | tail -n 1)
    tar -xzf "$work/$tarball" -C "$work/$name"
    echo "$name@$version: $(npm view "$name@$version" dist.integrity)"
}

# put NAME DEST FILE...: copies the package's FILEs (paths inside the package) into DEST
put() {
    local name=$1 dest=$2 file
    shift 2
    rm -rf "$dest"
    mkdir -p "$dest"
    for file in "$@"; do
        cp "$work/$name/package/$file" "$dest/"
    done
}

unpack swagger-ui-dist "$SWAGGER_UI_DIST"
unpack graphiql "$GRAPHIQL"
unpack react "$REACT"
unpack react-dom "$REACT"

put swagger-ui-dist assets/api-docs/swagger-ui-dist \
    swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE
put graphiql assets/graphiql/graphiql graphiql.min.js graphiql.min.css LICENSE
put react assets/graphiql/react umd/react.production.min.js LICENSE
put react-dom assets/graphiql/react-dom umd/react-dom.production.min.js LICENSE

echo "vendored: swagger-ui-dist@$SWAGGER_UI_DIST graphiql@$GRAPHIQL react@$REACT react-dom@$REACT"

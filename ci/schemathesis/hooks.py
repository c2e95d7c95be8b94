"""schemathesis hooks of ci/conformance.sh: how a GraphQL response of profile-api is judged.

schemathesis counts every entry of a GraphQL `errors` list as a failure: one with a client code
(`BAD_USER_INPUT`) as a rejected valid request, any other as a server error. profile-api reports
expected outcomes that way by design (SPEC §6): a user that does not exist or may not be seen
resolves to `null` with a `NOT_FOUND` or `FORBIDDEN` error at its path, a mutation without a
token is `UNAUTHENTICATED`, and an argument GraphQL's types cannot constrain (an id's format, a
page size over 100) is `BAD_USER_INPUT`. So for GraphQL the built-in `not_a_server_error` and
`positive_data_acceptance` are off (schemathesis.toml) and this check takes their place: it
fails on what would be a fault of the server.
"""

import schemathesis
from schemathesis.specs.graphql.schemas import GraphQLSchema

# The codes of SPEC §6 that describe the request, not a fault of the server.
EXPECTED_CODES = {
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "PRECONDITION_FAILED",
    "TOO_MANY_REQUESTS",
}


@schemathesis.check
def graphql_response_is_sound(ctx, response, case):
    """A GraphQL response: status 200, `application/json` (what is sent without `Accept`), a JSON
    object with `data` and/or `errors`, and every error with one of the expected codes of SPEC §6
    — never `INTERNAL_SERVER_ERROR`, `SERVICE_UNAVAILABLE` or none at all — and a message."""
    if not isinstance(case.operation.schema, GraphQLSchema):
        return None
    if response.status_code != 200:
        raise AssertionError(f"status {response.status_code}, expected 200: {response.text[:500]}")
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if content_type.split(";")[0].strip() != "application/json":
        raise AssertionError(f"Content-Type {content_type!r}, expected application/json")
    body = response.json()
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        raise AssertionError(f"not a GraphQL response: {response.text[:500]}")
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code not in EXPECTED_CODES or not error.get("message"):
            raise AssertionError(f"unexpected error {error}")
        for location in error.get("locations") or []:
            if location.get("line", 0) < 1 or location.get("column", 0) < 1:
                raise AssertionError(f"a location that is not 1-based: {error}")
    return None

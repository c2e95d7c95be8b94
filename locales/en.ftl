# Messages of profile-api in English. Each status's general message comes first in an error
# list; the specific messages after it name the field or header at fault.

## General messages, one per status (SPEC §3)
validation-failed = Validation failed
authentication-required = Authentication required
profile-cannot-be-viewed = This profile cannot be viewed
profile-is-private = This profile is private
resource-not-found = Resource not found
method-not-allowed = Method not allowed
conflict = Conflict
username-taken = Username is already taken
precondition-failed = Precondition failed
payload-too-large = Payload too large
unsupported-media-type = Unsupported media type
too-many-requests = Too many requests
internal-error = Internal server error
service-unavailable = Service temporarily unavailable

## Path parameters and arguments
invalid-user-id = { $field } must be a 24-character hexadecimal id
invalid-username = { $field } must be 3 to 30 letters, digits, underscores or dots, with at most one leading @
too-many-ids = { $field } accepts at most { $max } ids
too-many-aliases = The operation uses { $count } aliases; at most { $max } are allowed
too-many-subscriptions = A connection may run at most { $max } operations at once
page-size-out-of-range = { $field } must be between 1 and { $max }
invalid-cursor = { $field } is not a cursor returned by this list

## Request headers (SPEC §2)
invalid-timezone = X-Timezone must be UTC, a fixed offset from UTC-12:00 to UTC+14:00 such as UTC+03:00 (minutes 00, 30 or 45), or an IANA zone name such as Europe/Istanbul
invalid-platform = X-Platform must be one of web, mobile_ios, mobile_android, admin, api, unknown, all
invalid-app-version = X-App-Version must be 1 to 32 letters, digits, dots, plus or minus signs
invalid-device-id = X-Device-Id must be 1 to 128 visible ASCII characters
invalid-header-encoding = Header { $header } must be visible ASCII text
invalid-if-match = If-Match must be a quoted entity tag, a list of them, or *

## Identity (SPEC §5)
token-missing = This request needs a bearer token in the Authorization header
token-malformed = The Authorization header must be "Bearer" followed by a JSON Web Token
token-algorithm = The token is signed with an algorithm this server does not accept
token-signature = The token's signature is not valid
token-expired = The token has expired
token-claims = The token must carry a user id in "sub" and an expiry in "exp"
token-unknown-user = The token's user does not exist or is deactivated

## Request bodies
body-malformed-json = The body is not valid JSON (line { $line }, column { $column })
body-not-object = The body must be a JSON object
body-empty = The body is empty; send a JSON object with the fields to change
graphql-request-malformed = The body must be a GraphQL request: a JSON object with a "query" string, and optional "operationName" string and "variables" and "extensions" objects
graphql-get-malformed = A GraphQL GET needs a "query" parameter; "variables" and "extensions", when given, must be JSON objects
graphql-query-string-too-long = The query string must be at most { $max } bytes
persisted-query-not-found = This persisted query is not known here: send its text once with its hash
persisted-query-invalid = The persisted query is not valid: { $reason }

## Profile fields (SPEC §1, §4)
field-wrong-type-string = { $field } must be a string
field-wrong-type-integer = { $field } must be a whole number
field-wrong-type-boolean = { $field } must be true or false
field-wrong-type-string-list = { $field } must be a list of strings
field-nul-character = { $field } must not contain the NUL character (U+0000)
field-required = { $field } cannot be null or empty
field-read-only = { $field } is read-only
field-unknown = { $field } is not a field of the profile
field-length = { $field } must be between { $min } and { $max } characters
field-too-long = { $field } must be at most { $max } characters
field-username = { $field } must be 3 to 30 letters, digits, underscores or dots
field-availability = { $field } must be one of available, busy, away, offline
field-price = { $field } must be a whole number from 0 to 100000
field-interests-count = { $field } can hold at most { $max } items
field-interest-length = { $field } items must be between 1 and { $max } characters
field-interest-duplicate = { $field } lists "{ $value }" more than once
field-birth-date-format = { $field } must be a date written YYYY-MM-DD
field-birth-date-age = { $field } must give an age between { $min } and { $max } years
field-profile-photo = { $field } must be the id of a media item you own
field-handle-instagram = { $field } must be an Instagram username: 1 to 30 letters, digits, dots or underscores, not starting or ending with a dot, or an instagram.com profile link
field-handle-snapchat = { $field } must be a Snapchat username: 3 to 15 letters, digits, dots, hyphens or underscores, starting with a letter, or a snapchat.com profile link
field-handle-x = { $field } must be an X username: 1 to 15 letters, digits or underscores, or an x.com profile link
field-handle-tiktok = { $field } must be a TikTok username: 2 to 24 letters, digits, dots or underscores, not ending with a dot, or a tiktok.com profile link
field-handle-facebook = { $field } must be a Facebook username: 5 to 50 letters, digits or dots, or a facebook.com profile link

## The follow graph
cannot-follow-self = You cannot follow yourself
cannot-block-self = You cannot block yourself
follow-blocked = You cannot follow this user
no-follow-request = This user has no pending follow request to you

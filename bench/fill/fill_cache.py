"""Reads every user whose id is in IDS_FILE once, 100 to a GraphQL `users(ids:)` request, so that
profile-api's cache takes them all in (up to its byte budget): bench/reads.sh then reads the
server's peak RSS with the cache full.

    python3 fill_cache.py URL IDS_FILE
"""
import json
import sys
import urllib.request

url, ids_file = sys.argv[1], sys.argv[2]
ids = [line.strip() for line in open(ids_file) if line.strip()]
query = "query($ids: [ID!]!) { users(ids: $ids) { id name username followersCount } }"
read = 0
for start in range(0, len(ids), 100):
    body = json.dumps({"query": query, "variables": {"ids": ids[start:start + 100]}}).encode()
    request = urllib.request.Request(url + "/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    if answer.get("errors"):
        sys.exit(f"GraphQL errors: {answer['errors'][:1]}")
    read += len(answer["data"]["users"])
print(read)

#!/usr/bin/env python3
"""Writes a mongoexport-style directory for trying `profile-api import` at scale.

    scripts/gen_import_fixture.py DIR [--users 100000] [--follows 1000000] [--media-every 3]

Users alternate between relaxed and canonical Extended JSON v2, as mongoexport writes either;
follows point at random pairs of those users (a few pending), so the import also exercises
the counters. Deterministic for a given set of arguments.
"""
import argparse
import json
import os
import random


def oid(prefix: str, n: int) -> str:
    return f"{prefix}{n:016x}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=1_000_000)
    parser.add_argument("--media-every", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    rng = random.Random(42)
    statuses = ["available", "busy", "away", "offline"]

    with open(os.path.join(args.dir, "media.jsonl"), "w") as media, \
         open(os.path.join(args.dir, "users.jsonl"), "w") as users:
        for n in range(args.users):
            uid = oid("65a0b0c0", n)
            photo = None
            if n % args.media_every == 0:
                photo = oid("65a0ffff", n)
                media.write(json.dumps({"_id": {"$oid": photo}, "owner": {"$oid": uid},
                                        "url": f"https://cdn.example.com/{photo}.jpg", "type": "image"}) + "\n")
            canonical = n % 2 == 1
            doc = {
                "_id": {"$oid": uid},
                "name": f"Name{n}",
                "surname": "Yılmaz" if n % 5 == 0 else "Smith",
                "username": f"user_{n}",
                "availabilityStatus": statuses[n % 4],
                "profilePhoto": {"$oid": photo} if photo else None,
                "interests": ["music", "travel"][: n % 3],
                "bio": f"Bio of user {n}",
                "minutePriceInLiveStream": {"$numberInt": str(n % 500)} if canonical else n % 500,
                "birthDate": ({"$date": {"$numberLong": str(631152000000 + n * 1000)}} if canonical
                              else {"$date": "1990-01-01T00:00:00Z"}),
                "isPrivate": n % 10 == 0,
                "createdAt": ({"$date": {"$numberLong": "1704164645678"}} if canonical
                              else {"$date": "2024-01-02T03:04:05.678Z"}),
            }
            users.write(json.dumps(doc, ensure_ascii=False) + "\n")

    with open(os.path.join(args.dir, "follows.jsonl"), "w") as follows:
        for n in range(args.follows):
            a = rng.randrange(args.users)
            b = rng.randrange(args.users)
            if a == b:
                b = (b + 1) % args.users
            follows.write(json.dumps({
                "follower": {"$oid": oid("65a0b0c0", a)},
                "followee": {"$oid": oid("65a0b0c0", b)},
                "status": "pending" if n % 20 == 0 else "accepted",
                "createdAt": {"$date": {"$numberLong": str(1704164645678 + n)}},
            }) + "\n")


if __name__ == "__main__":
    main()

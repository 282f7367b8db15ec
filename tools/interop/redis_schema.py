"""Checks tokens against the Redis store's public revocation schema with redis-py, as a service in
any language would: one MGET per token.

usage: redis_schema.py URL PREFIX CLAIMS_JSON...
Each CLAIMS_JSON is {"jti": ..., "sid": ..., "sub": ..., "iat": ...}; prints one line per token,
"revoked" or "live".
"""
import json
import sys

import redis


def is_revoked(r, prefix, claims):
    jti, sid, sub = r.mget(
        f"{prefix}revoked:jti:{claims['jti']}",
        f"{prefix}revoked:sid:{claims['sid']}",
        f"{prefix}revoked:sub:{claims['sub']}",
    )
    return jti is not None or sid is not None or (sub is not None and claims["iat"] <= int(sub))


def main():
    r = redis.Redis.from_url(sys.argv[1])
    prefix = sys.argv[2]
    for text in sys.argv[3:]:
        print("revoked" if is_revoked(r, prefix, json.loads(text)) else "live")


if __name__ == "__main__":
    main()

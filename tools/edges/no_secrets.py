#!/usr/bin/env python3
"""Fetches every route of tokend's HTTP port (and a few that do not exist) and checks that no
answer, headers included, holds any of the secrets listed in a file (one per line).

Prints one JSON object with the status of each path; exits non-zero on the first secret found.

usage: no_secrets.py --http HOST:PORT --secrets FILE
"""
import argparse
import json
import sys
import urllib.error
import urllib.request

PATHS = [
    "/.well-known/jwks.json",
    "/healthz",
    "/readyz",
    "/metrics",
    "/",
    "/keys",
    "/.well-known/openid-configuration",
    "/metrics/../.well-known/jwks.json",
]


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, str(response.headers), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, str(error.headers), error.read().decode("utf-8", "replace")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", required=True)
    parser.add_argument("--secrets", required=True)
    args = parser.parse_args()
    with open(args.secrets, encoding="utf-8") as handle:
        secrets = [line.strip() for line in handle if line.strip()]
    if not secrets:
        print("no_secrets.py: the secrets file is empty", file=sys.stderr)
        sys.exit(2)
    statuses = {}
    for path in PATHS:
        status, headers, body = fetch("http://%s%s" % (args.http, path))
        statuses[path] = status
        for secret in secrets:
            if secret in headers or secret in body:
                print("no_secrets.py: %s answers a secret (%s...)" % (path, secret[:8]), file=sys.stderr)
                sys.exit(1)
    print(json.dumps({"statuses": statuses, "secrets": len(secrets)}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks tokend's HTTP port from outside, with independent libraries.

- PyJWT's PyJWKClient fetches the JWK Set from /.well-known/jwks.json and verifies a token the
  service issued.
- /metrics parses with prometheus_client's text parser, and the Health call counter moves by
  exactly one for each Health call made over the RPC port (TLS when --ca is given).
- With --ca, plain bytes sent to the TLS port, and (with --cert, under mutual TLS) a handshake
  without a client certificate, each move the TLS handshake failure counter by exactly one.

Prints one JSON object on success; exits non-zero with a message on the first failure.

usage: http_port.py --http HOST:PORT --rpc HOST:PORT --token JWT --issuer ISS --audience AUD
                    [--ca FILE --cert FILE --key FILE] [--calls N]
"""
import argparse
import importlib.util
import json
import os
import socket
import ssl
import sys
import urllib.request

import jwt
from prometheus_client.parser import text_string_to_metric_families

HERE = os.path.dirname(os.path.abspath(__file__))
HEALTH = "/token.v1.TokenService/Health"


def load_rpc_client():
    path = os.path.join(os.path.dirname(HERE), "interop", "rpc_client.py")
    spec = importlib.util.spec_from_file_location("rpc_client", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fail(message):
    print("http_port.py: " + message, file=sys.stderr)
    sys.exit(1)


def metric_families(metrics_url):
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode("utf-8")
    return list(text_string_to_metric_families(text))


def sample_value(metrics_url, name, **labels):
    """The value of the sample `name` with `labels` (0 when there is none yet)."""
    for family in metric_families(metrics_url):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                return sample.value
    return 0.0


def health_calls(metrics_url):
    """The token_rpc_calls_total sample of Health answered OK."""
    return sample_value(metrics_url, "token_rpc_calls_total", method=HEALTH, code="OK")


def refused_handshake(host, port, context):
    """Opens a connection the TLS port must refuse and waits until the server has closed it."""
    sock = socket.create_connection((host, int(port)), timeout=10)
    if context is None:
        # Plain bytes where a TLS handshake should start.
        sock.sendall(b"\x00\x00\x00\x05hello")
        while sock.recv(4096):
            pass
        sock.close()
        return
    try:
        tls = context.wrap_socket(sock, server_hostname="localhost")
        # TLS 1.3 reports a refused client certificate on the first read.
        while tls.recv(4096):
            pass
    except (ssl.SSLError, ConnectionError):
        pass
    sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", required=True)
    parser.add_argument("--rpc", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()

    # 1. The JWK Set, fetched and used by PyJWT's own client.
    jwks_client = jwt.PyJWKClient("http://%s/.well-known/jwks.json" % args.http, cache_keys=False)
    signing_key = jwks_client.get_signing_key_from_jwt(args.token)
    claims = jwt.decode(
        args.token,
        signing_key.key,
        algorithms=["EdDSA", "ES256"],
        audience=args.audience,
        issuer=args.issuer,
    )

    # 2. The Health counter, one call at a time.
    rpc_client = load_rpc_client()
    pb = rpc_client.load_proto_module()
    host, port = args.rpc.rsplit(":", 1)
    connection = rpc_client.Connection.__new__(rpc_client.Connection)
    connection.pb = pb
    sock = socket.create_connection((host, int(port)), timeout=10)
    if args.ca:
        context = ssl.create_default_context(cafile=args.ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if args.cert:
            context.load_cert_chain(args.cert, args.key)
        sock = context.wrap_socket(sock, server_hostname="localhost")
    connection.sock = sock

    metrics_url = "http://%s/metrics" % args.http
    counts = [health_calls(metrics_url)]
    for call_id in range(1, args.calls + 1):
        connection.send(call_id, HEALTH, pb.HealthRequest().SerializeToString())
        response = connection.receive()
        if response.call_id != call_id or response.code != 0:
            fail("Health call %d answered code %d" % (call_id, response.code))
        counts.append(health_calls(metrics_url))
    steps = [after - before for before, after in zip(counts, counts[1:])]
    if steps != [1.0] * args.calls:
        fail("the Health counter moved by %s, not by one per call" % steps)
    sock.close()

    # 3. With TLS: each refused handshake moves the failure counter by one.
    failures = []
    if args.ca:
        failures.append(sample_value(metrics_url, "token_rpc_tls_handshake_failures_total"))
        refused_handshake(host, port, None)
        failures.append(sample_value(metrics_url, "token_rpc_tls_handshake_failures_total"))
        if args.cert:
            anonymous = ssl.create_default_context(cafile=args.ca)
            refused_handshake(host, port, anonymous)
            failures.append(sample_value(metrics_url, "token_rpc_tls_handshake_failures_total"))
        steps = [after - before for before, after in zip(failures, failures[1:])]
        if steps != [1.0] * len(steps):
            fail("the TLS failure counter moved by %s, not by one per refused handshake" % steps)

    families = {family.name: family.type for family in metric_families(metrics_url)}
    print(
        json.dumps(
            {
                "kid": signing_key.key_id,
                "sub": claims["sub"],
                "health_counts": counts,
                "tls_failure_counts": failures,
                "families": families,
            }
        )
    )


if __name__ == "__main__":
    main()

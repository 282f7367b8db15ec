"""End-to-end test of Examples/bearer-demo against a real tokend.

Starts tokend and bearer-demo as processes on free loopback ports, issues and revokes tokens over the
RPC (with the independent Python client in tools/interop), and checks the demo's HTTP answers: valid,
revoked, tokend stopped (fail-closed and fail-open), tokend restarted (the mirror resumes from its seq).

Environment: TOKEND_BINARY and BEARER_DEMO_BINARY name the two executables.
Run: python3 -m pytest -q tools/e2e
"""
import os
import secrets
import subprocess
import time

import pytest

from harness import (  # noqa: F401  (pb and processes are fixtures)
    ISSUER, RPC, Tokend, binary, http_get, pb, poll, processes, stop, write_callers, write_key,
)


class Keys:
    def __init__(self, directory):
        self.admin = secrets.token_hex(16)
        self.validator = secrets.token_hex(16)
        self.issuer = secrets.token_hex(16)
        self.callers_file = write_callers(directory, [
            ("admin", self.admin, ["admin"]),
            ("validator", self.validator, ["validate"]),
            ("issuer", self.issuer, ["issue", "revoke"]),
        ])
        # Surrounding whitespace is part of the test: the demo trims it.
        self.validator_file = write_key(directory, "validator.key", self.validator)


def start_demo(processes, tokend, keys, extra=()):
    argv = [
        binary("BEARER_DEMO_BINARY"), "--listen", "127.0.0.1:0", "--tokend", tokend.address,
        "--key-file", keys.validator_file, "--issuer", ISSUER, "--stale-after", "1", *extra,
    ]
    process, address = processes.start(argv, "bearer-demo")
    return process, "http://" + address


def healthz(base):
    status, _, body = http_get(base, "/healthz")
    return status, body


def wait_healthy(base, timeout=20.0):
    def probe():
        status, state = healthz(base)
        return (status == 200, state)

    (_, state), seconds = poll("/healthz 200", probe, timeout)
    print(f"/healthz 200 after {seconds * 1000:.0f} ms: {state}")
    return state


def wait_stale(base, timeout=15.0):
    def probe():
        status, state = healthz(base)
        return (status == 503 and not state["mirror_fresh"], state)

    (_, state), seconds = poll("/healthz 503 with mirror_fresh false", probe, timeout)
    print(f"/healthz 503 after {seconds * 1000:.0f} ms: mirror_fresh={state['mirror_fresh']}")
    return state


def whoami_status(base, token):
    status, headers, body = http_get(base, "/whoami", token=token)
    return status, headers, body


def test_bearer_demo_fail_closed(pb, tmp_path, processes):
    keys = Keys(str(tmp_path))
    tokend = Tokend(processes, str(tmp_path), keys.callers_file)
    tokend.start()
    demo, base = start_demo(processes, tokend, keys)
    wait_healthy(base)

    rpc = RPC(pb, tokend.address, keys.issuer)
    first = rpc.issue("alice", ["read", "write"])
    status, _, body = whoami_status(base, first.access_token)
    assert status == 200, f"valid token: {status} {body}"
    assert body == {"sub": "alice", "sid": first.session_id, "jti": first.token_id, "scope": "read write"}, body
    print("valid token: 200", body)

    status, headers, _ = http_get(base, "/whoami")
    assert status == 401 and headers.get("WWW-Authenticate") == "Bearer", (status, dict(headers))
    print("no Authorization: 401 WWW-Authenticate: Bearer")

    status, headers, _ = http_get(base, "/whoami", authorization="Basic dXNlcjpwYXNz")
    assert status == 401 and headers.get("WWW-Authenticate") == "Bearer", (status, dict(headers))
    print("another scheme: 401 WWW-Authenticate: Bearer")

    status, headers, _ = http_get(base, "/whoami", authorization="Bearer")
    assert status == 400 and 'error="invalid_request"' in headers.get("WWW-Authenticate", ""), (status, dict(headers))
    print("malformed bearer header: 400", headers.get("WWW-Authenticate"))

    status, headers, _ = http_get(base, "/whoami", token="garbage")
    challenge = headers.get("WWW-Authenticate", "")
    assert status == 401 and challenge.startswith('Bearer error="invalid_token"'), (status, dict(headers))
    assert 'error_description="malformed"' in challenge, challenge
    print("garbage token: 401", challenge)

    # Revocation reaches the demo through the WatchRevocations stream, not by asking tokend.
    revoke_seq = rpc.revoke(first.access_token)
    revoked_at = time.monotonic()

    def revoked():
        status, headers, _ = whoami_status(base, first.access_token)
        return (status == 401 and 'error_description="revoked"' in headers.get("WWW-Authenticate", ""), status)

    poll("/whoami 401 revoked", revoked, 5.0)
    print(f"revoked token (seq {revoke_seq}): 401 revoked after {(time.monotonic() - revoked_at) * 1000:.1f} ms")

    # Issued before the stop, never presented before it: nothing about it is cached.
    second = rpc.issue("bob", ["read"])
    third = rpc.issue("carol", [])
    rpc.close()
    tokend.stop()
    stopped_at = time.monotonic()

    def unavailable():
        status, headers, body = whoami_status(base, second.access_token)
        return (status == 503 and headers.get("Retry-After") is not None, (status, dict(headers), body))

    (_, (status, headers, body)), _ = poll("/whoami 503 after tokend stopped", unavailable, 15.0)
    assert isinstance(body, dict), f"503 carries a JSON body: {body!r}"
    print(f"tokend stopped: /whoami 503 after {(time.monotonic() - stopped_at) * 1000:.0f} ms,",
          f"Retry-After {headers['Retry-After']}, body {body}")
    stale = wait_stale(base)
    assert stale["applied_seq"] == revoke_seq, stale

    tokend.start()  # same port, same data directory
    state = wait_healthy(base, timeout=30.0)
    assert state["snapshots_applied"] == 1, f"resumed from its seq without a second snapshot: {state}"
    assert state["applied_seq"] == revoke_seq, state
    assert state["streams_opened"] >= 2, state
    print(f"tokend restarted: resumed at seq {state['applied_seq']} with {state['snapshots_applied']} snapshot")

    status, _, body = whoami_status(base, second.access_token)
    assert status == 200 and body["sub"] == "bob", (status, body)
    rpc = RPC(pb, tokend.address, keys.issuer)
    second_seq = rpc.revoke(second.access_token)
    rpc.close()
    revoked_at = time.monotonic()

    def second_revoked():
        status, headers, _ = whoami_status(base, second.access_token)
        return (status == 401 and 'error_description="revoked"' in headers.get("WWW-Authenticate", ""), status)

    poll("/whoami 401 revoked after the restart", second_revoked, 5.0)
    print(f"revoked after the restart (seq {second_seq}): 401 after {(time.monotonic() - revoked_at) * 1000:.1f} ms")
    state = healthz(base)[1]
    assert state["applied_seq"] == second_seq and state["snapshots_applied"] == 1, state
    status, _, body = whoami_status(base, third.access_token)
    assert status == 200 and body["sub"] == "carol" and body["scope"] == "", (status, body)

    assert stop(demo, "bearer-demo") == 0, "bearer-demo exits 0 on SIGTERM"


def test_bearer_demo_fail_open(pb, tmp_path, processes):
    keys = Keys(str(tmp_path))
    tokend = Tokend(processes, str(tmp_path), keys.callers_file)
    tokend.start()
    demo, base = start_demo(processes, tokend, keys, extra=["--fail-open"])
    wait_healthy(base)

    rpc = RPC(pb, tokend.address, keys.issuer)
    valid = rpc.issue("dave", ["read"])
    revoked = rpc.issue("erin", ["read"])
    seq = rpc.revoke(revoked.access_token)
    rpc.close()

    def mirrored():
        status, _, _ = whoami_status(base, revoked.access_token)
        return (status == 401, status)

    poll("the revocation in the mirror", mirrored, 5.0)
    tokend.stop()
    state = wait_stale(base)
    assert state["applied_seq"] == seq, state

    status, _, body = whoami_status(base, valid.access_token)
    assert status == 200 and body["sub"] == "dave", (status, body)
    print("tokend stopped, --fail-open: valid token 200", body)
    status, headers, _ = whoami_status(base, revoked.access_token)
    assert status == 401 and 'error_description="revoked"' in headers.get("WWW-Authenticate", ""), status
    print("tokend stopped, --fail-open: a token revoked before the stop is still 401 revoked")
    state = healthz(base)[1]
    assert state["fail_open_acceptances"] >= 1, state

    assert stop(demo, "bearer-demo") == 0, "bearer-demo exits 0 on SIGTERM"


@pytest.mark.parametrize("content", [None, "", "x" * 5000])
def test_bearer_demo_refuses_bad_key_file(tmp_path, content):
    key_file = os.path.join(str(tmp_path), "validator.key")
    if content is not None:
        with open(key_file, "w") as f:
            f.write(content)
    argv = [
        binary("BEARER_DEMO_BINARY"), "--listen", "127.0.0.1:0", "--tokend", "127.0.0.1:1",
        "--key-file", key_file, "--issuer", ISSUER,
    ]
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    message = result.stderr.decode().strip()
    assert result.returncode == 2, (result.returncode, message)
    assert len(message.splitlines()) == 1 and "key file" in message, message
    assert result.stdout == b""
    print(f"key file {'missing' if content is None else f'of {len(content)} bytes'}: exit 2, {message!r}")

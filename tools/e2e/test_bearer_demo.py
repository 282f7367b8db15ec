"""End-to-end test of Examples/bearer-demo against a real tokend.

Starts tokend and bearer-demo as processes on free loopback ports, issues and revokes tokens over the
RPC (with the independent Python client in tools/interop), and checks the demo's HTTP answers: valid,
revoked, tokend stopped (fail-closed and fail-open), tokend restarted (the mirror resumes from its seq).

Environment: TOKEND_BINARY and BEARER_DEMO_BINARY name the two executables.
Run: python3 -m pytest -q tools/e2e
"""
import hashlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "interop"))
import rpc_client  # noqa: E402

ISSUER = "https://tokens.test"
SERVICE = rpc_client.SERVICE
START_TIMEOUT = 30.0  # seconds for a process to print its listening line
POLL_INTERVAL = 0.02


def binary(variable):
    path = os.environ.get(variable)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"${variable} must name an executable (got {path!r})")
    return path


@pytest.fixture(scope="module")
def pb():
    return rpc_client.load_proto_module()


class Processes:
    """Every process a test started, killed by pid at teardown if still running."""

    def __init__(self):
        self.started = []

    def start(self, argv, name):
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.started.append(process)
        line = read_line(process, name)
        prefix = f"{name} listening on "
        assert line.startswith(prefix), f"unexpected first line from {name}: {line!r}"
        address = line[len(prefix):]
        print(f"{name} (pid {process.pid}) listening on {address}")
        return process, address

    def kill_all(self):
        for process in self.started:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()


@pytest.fixture
def processes():
    started = Processes()
    try:
        yield started
    finally:
        started.kill_all()


def read_line(process, name):
    """The process's first line of standard output, waited for at most START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    fd = process.stdout.fileno()
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"{name} printed no listening line within {START_TIMEOUT} s (got {data!r})")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                pytest.fail(f"{name} exited (status {process.wait()}) before listening: {data!r}")
            data += chunk
    return data.split(b"\n", 1)[0].decode()


def stop(process, name, timeout=15.0):
    """SIGTERM, then wait for the exit; returns the exit status."""
    process.send_signal(signal.SIGTERM)
    status = process.wait(timeout=timeout)
    print(f"{name} (pid {process.pid}) stopped with status {status}")
    return status


class Keys:
    def __init__(self, directory):
        self.admin = secrets.token_hex(16)
        self.validator = secrets.token_hex(16)
        self.issuer = secrets.token_hex(16)
        entries = [
            ("admin", self.admin, ["admin"]),
            ("validator", self.validator, ["validate"]),
            ("issuer", self.issuer, ["issue", "revoke"]),
        ]
        callers = [
            {"name": name, "key_sha256": hashlib.sha256(key.encode()).hexdigest(), "roles": roles}
            for name, key, roles in entries
        ]
        self.callers_file = os.path.join(directory, "callers.json")
        with open(self.callers_file, "w") as f:
            json.dump({"callers": callers}, f)
        # Surrounding whitespace is part of the test: the demo trims it.
        self.validator_file = os.path.join(directory, "validator.key")
        with open(self.validator_file, "w") as f:
            f.write("  " + self.validator + "\n\n")


class Tokend:
    """A tokend process, restartable on the same port and data directory."""

    def __init__(self, processes, directory, keys):
        self.processes = processes
        self.data_dir = os.path.join(directory, "tokend-data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.keys = keys
        self.address = "127.0.0.1:0"
        self.process = None

    def start(self):
        argv = [
            binary("TOKEND_BINARY"), "--listen", self.address, "--data-dir", self.data_dir,
            "--callers", self.keys.callers_file, "--issuer", ISSUER, "--log-level", "warning",
        ]
        self.process, self.address = self.processes.start(argv, "tokend")

    def stop(self):
        assert stop(self.process, "tokend") == 0, "tokend exits 0 on SIGTERM"


class RPC:
    """Issue and Revoke over one connection with the issuer's key."""

    def __init__(self, pb, address, credential):
        self.pb = pb
        self.connection = rpc_client.Connection(pb, address)
        self.credential = credential
        self.call_id = 0

    def call(self, method, request, response_type):
        self.call_id += 1
        self.connection.send(self.call_id, SERVICE + method, request.SerializeToString(), self.credential)
        response = self.connection.receive()
        assert response.call_id == self.call_id and response.code == rpc_client.OK, (
            f"{method} failed: code {response.code} {response.message}"
        )
        answer = response_type()
        answer.ParseFromString(response.payload)
        return answer

    def issue(self, subject, scopes):
        request = self.pb.IssueRequest(subject=subject, scopes=scopes)
        return self.call("Issue", request, self.pb.IssueResponse)

    def revoke(self, token):
        request = self.pb.RevokeRequest(token=token, reason="e2e test")
        return self.call("Revoke", request, self.pb.RevokeResponse).seq

    def close(self):
        self.connection.sock.close()


def http_get(base, path, token=None, authorization=None):
    """(status, headers, body) of GET base+path; body parsed as JSON when it is JSON."""
    request = urllib.request.Request(base + path)
    if token is not None:
        request.add_header("Authorization", "Bearer " + token)
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    body = raw
    if "json" in (headers.get("Content-Type") or ""):
        body = json.loads(raw)
    return status, headers, body


def poll(description, probe, timeout):
    """Calls probe() until it returns a truthy value; fails after timeout seconds. Returns (value, seconds)."""
    start = time.monotonic()
    deadline = start + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last and last[0]:
            return last, time.monotonic() - start
        time.sleep(POLL_INTERVAL)
    pytest.fail(f"timed out after {timeout} s waiting for {description}; last answer: {last!r}")


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
    tokend = Tokend(processes, str(tmp_path), keys)
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
    tokend = Tokend(processes, str(tmp_path), keys)
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

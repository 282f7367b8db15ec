"""What the end-to-end tests share: processes started from the built binaries and waited for by their
listening line, tokend with a callers file, the independent RPC client (tools/interop), and HTTP
helpers. Every process is killed by its pid at the end of the test that started it.
"""
import json
import os
import select
import signal
import socket
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pb():
    return rpc_client.load_proto_module()


class Processes:
    """Every process a test started, killed by pid at teardown if still running."""

    def __init__(self):
        self.started = []

    def start(self, argv, name, env=None):
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)
        self.started.append(process)
        line = read_line(process, name)
        prefix = f"{name} listening on "
        assert line.startswith(prefix), f"unexpected first line from {name}: {line!r}"
        address = line[len(prefix):]
        print(f"{name} (pid {process.pid}) listening on {address}")
        return process, address

    def spawn(self, argv, **kwargs):
        """A process that prints no listening line (nginx, caddy)."""
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kwargs)
        self.started.append(process)
        return process

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


def write_callers(directory, entries):
    """A callers file for (name, key, roles) entries; returns its path."""
    import hashlib

    callers = [
        {"name": name, "key_sha256": hashlib.sha256(key.encode()).hexdigest(), "roles": roles}
        for name, key, roles in entries
    ]
    path = os.path.join(directory, "callers.json")
    with open(path, "w") as f:
        json.dump({"callers": callers}, f)
    return path


def write_key(directory, name, key):
    """A key file readable by its owner only, with surrounding whitespace (the readers trim it)."""
    path = os.path.join(directory, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("  " + key + "\n\n")
    return path


class Tokend:
    """A tokend process, restartable on the same port and data directory."""

    def __init__(self, processes, directory, callers_file, issuer=ISSUER, extra=()):
        self.processes = processes
        self.data_dir = os.path.join(directory, "tokend-data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.callers_file = callers_file
        self.issuer = issuer
        self.extra = list(extra)
        self.address = "127.0.0.1:0"
        self.process = None

    def start(self):
        argv = [
            binary("TOKEND_BINARY"), "--listen", self.address, "--data-dir", self.data_dir,
            "--callers", self.callers_file, "--issuer", self.issuer, "--log-level", "warning", *self.extra,
        ]
        self.process, self.address = self.processes.start(argv, "tokend")

    def stop(self):
        assert stop(self.process, "tokend") == 0, "tokend exits 0 on SIGTERM"


class RPC:
    """Issue and Revoke over one connection with one API key."""

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

    def issue(self, subject, scopes, audience=(), refresh=False):
        request = self.pb.IssueRequest(
            subject=subject, scopes=scopes, audience=list(audience), with_refresh_token=refresh)
        return self.call("Issue", request, self.pb.IssueResponse)

    def revoke(self, token):
        request = self.pb.RevokeRequest(token=token, reason="e2e test")
        return self.call("Revoke", request, self.pb.RevokeResponse).seq

    def close(self):
        self.connection.sock.close()


def http_get(base, path, token=None, authorization=None, headers=None):
    """(status, headers, body) of GET base+path; body parsed as JSON when it is JSON."""
    request = urllib.request.Request(base + path)
    if token is not None:
        request.add_header("Authorization", "Bearer " + token)
    if authorization is not None:
        request.add_header("Authorization", authorization)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
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


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

"""End-to-end tests of tokengate, and of tokend's OAuth endpoints, with peers no one here wrote.

- nginx (`auth_request`) and Caddy (`forward_auth`), from Debian, in front of a small upstream, ask a
  running tokengate: a valid token reaches the upstream with X-Auth-Subject (a client's own X-Auth-*
  headers and `?audience=` do not), a revoked one is refused within milliseconds (p50/p99 over 100
  revocations printed), and with tokend stopped the answer turns 503 with Retry-After once the
  mirror is stale.
- Python's authlib checks the gate's RFC 7662 introspection, and tokend's RFC 8414 metadata, which
  it fetches and follows: the JWK Set (PyJWT), RFC 7009 revocation and RFC 7662 introspection.
- tokengate's command line from outside: the listening line, exit statuses, SIGTERM.

Environment: TOKEND_BINARY and TOKENGATE_BINARY name the executables; nginx and caddy are on PATH
(tools/test installs them).
"""
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from authlib.oauth2.rfc7662 import IntrospectionToken, IntrospectTokenValidator
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url

from harness import (  # noqa: F401  (pb and processes are fixtures)
    RPC, Tokend, binary, free_port, pb, percentile, poll, processes, read_line, stop, write_callers, write_key,
)

# authlib refuses plain HTTP unless told that this is a test on loopback.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
STALE_AFTER = 1  # --stale-after of the gate, seconds
REVOCATIONS = 100
IDENTITY = ["X-Auth-Subject", "X-Auth-Session", "X-Auth-Token-Id", "X-Auth-Scope", "X-Auth-Expires"]


class Upstream:
    """An HTTP server that answers every request with the request's headers as JSON."""

    def __init__(self):
        class Echo(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body = json.dumps({"path": self.path, "headers": dict(self.headers.items())}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Stack:
    """tokend (with its HTTP port, whose URL is the issuer), a tokengate following it, an upstream."""

    def __init__(self, processes, directory, pb):
        self.directory = directory
        self.keys = {name: secrets.token_hex(16) for name in
                     ["admin", "validator", "issuer", "resource", "revoker", "introspection"]}
        callers = write_callers(directory, [
            ("admin", self.keys["admin"], ["admin"]),
            ("validator", self.keys["validator"], ["validate"]),
            ("issuer", self.keys["issuer"], ["issue", "revoke"]),
            ("resource", self.keys["resource"], ["validate"]),
            ("revoker", self.keys["revoker"], ["revoke"]),
        ])
        http_port = free_port()
        self.issuer = f"http://127.0.0.1:{http_port}"
        self.tokend = Tokend(processes, directory, callers, issuer=self.issuer,
                             extra=["--http-listen", f"127.0.0.1:{http_port}"])
        self.tokend.start()
        self.gate_process, self.gate_address = processes.start([
            binary("TOKENGATE_BINARY"), "--listen", "127.0.0.1:0", "--tokend", self.tokend.address,
            "--key-file", write_key(directory, "validator.key", self.keys["validator"]),
            "--issuer", self.issuer, "--audience", "api", "--stale-after", str(STALE_AFTER),
            "--introspect-key-file", write_key(directory, "introspection.key", self.keys["introspection"]),
            "--log-level", "warning",
        ], "tokengate")
        self.gate = "http://" + self.gate_address
        self.upstream = Upstream()
        self.rpc = RPC(pb, self.tokend.address, self.keys["issuer"])

    def close(self):
        self.rpc.close()
        self.upstream.close()


@pytest.fixture
def stack(processes, tmp_path, pb):
    setup = Stack(processes, str(tmp_path), pb)
    try:
        yield setup
    finally:
        setup.close()


def wait_for_port(port, process, name, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = getattr(process, "log", None)
            pytest.fail(f"{name} exited with status {process.returncode}" + (f": {open(log).read()[-2000:]}" if log else ""))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    pytest.fail(f"{name} did not listen on {port} within {timeout} s")


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{snippet}
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
"""


def readme_snippet(language):
    """The README's snippet for `language` (nginx or caddy): the tests run exactly what users copy."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "README.md")) as f:
        text = f.read()
    start = text.index(f"```{language}\n") + len(language) + 4
    return text[start:text.index("```", start)]


def start_nginx(processes, stack):
    """nginx with the README's configuration, its addresses replaced by the test's."""
    directory = os.path.join(stack.directory, "nginx")
    os.makedirs(directory)
    snippet = (readme_snippet("nginx")
               .replace("127.0.0.1:8081", stack.gate_address)
               .replace("127.0.0.1:3000", f"127.0.0.1:{stack.upstream.port}"))
    upstream, locations = snippet.split("# in your server block:\n")
    port = free_port()
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=directory, port=port, snippet=upstream, locations=locations))
    process = processes.spawn(["nginx", "-c", conf, "-p", directory])
    wait_for_port(port, process, "nginx")
    return f"http://127.0.0.1:{port}"


def start_caddy(processes, stack):
    """Caddy with the README's site block, its addresses replaced by the test's."""
    directory = os.path.join(stack.directory, "caddy")
    os.makedirs(directory)
    port = free_port()
    snippet = (readme_snippet("caddy")
               .replace("http://127.0.0.1:8080", f"http://127.0.0.1:{port}")
               .replace("127.0.0.1:8081", stack.gate_address)
               .replace("127.0.0.1:3000", f"127.0.0.1:{stack.upstream.port}"))
    caddyfile = os.path.join(directory, "Caddyfile")
    with open(caddyfile, "w") as f:
        f.write("{\n\tadmin off\n\tauto_https off\n}\n" + snippet)
    env = dict(os.environ, HOME=directory, XDG_DATA_HOME=directory, XDG_CONFIG_HOME=directory)
    log = os.path.join(directory, "caddy.log")
    with open(log, "w") as errors:
        process = processes.spawn(["caddy", "run", "--config", caddyfile, "--adapter", "caddyfile"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=errors)
    process.log = log
    wait_for_port(port, process, "caddy")
    return f"http://127.0.0.1:{port}"


def get(connection, path, token=None, headers=None):
    """(status, headers, body) of a GET on a kept-alive connection."""
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    return response.status, response.headers, body


def check_gateway(stack, base, name):
    """What nginx and Caddy must both do in front of the gate; returns the revocation latencies."""
    host, port = base[len("http://"):].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    alice = stack.rpc.issue("alice", ["read", "write"], audience=["api"])
    # A client's own identity headers and audience are not what the upstream sees.
    spoofed = {"X-Auth-Subject": "mallory", "X-Auth-Scope": "admin", "X-Auth-Session": "s",
               "X-Auth-Token-Id": "t", "X-Auth-Expires": "9999999999"}
    status, _, body = get(connection, "/orders?audience=billing", alice.access_token, spoofed)
    assert status == 200, (status, body)
    seen = json.loads(body)["headers"]
    expected = {"X-Auth-Subject": "alice", "X-Auth-Session": alice.session_id,
                "X-Auth-Token-Id": alice.token_id, "X-Auth-Scope": "read write",
                "X-Auth-Expires": str(alice.expires_at)}
    for header, value in expected.items():
        assert seen.get(header) == value, (header, seen)
    print(f"{name}: a valid token reaches the upstream as", {h: seen[h] for h in IDENTITY})

    bare = stack.rpc.issue("bob", [], audience=["api"])
    status, _, body = get(connection, "/", bare.access_token, spoofed)
    seen = json.loads(body)["headers"]
    assert status == 200 and seen.get("X-Auth-Subject") == "bob", (status, seen)
    assert seen.get("X-Auth-Scope", "") == "", f"a client's X-Auth-Scope reached the upstream: {seen}"

    billing = stack.rpc.issue("carol", ["read"], audience=["billing"])
    status, headers, _ = get(connection, "/?audience=billing", billing.access_token)
    assert status == 401, status
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token", error_description="wrong_audience"'
    status, headers, _ = get(connection, "/")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer", (status, dict(headers))
    status, headers, _ = get(connection, "/", "garbage")
    assert status == 401 and 'error_description="malformed"' in headers["WWW-Authenticate"]
    print(f"{name}: 401 with the gate's challenge for a wrong audience, no token and a garbage token")

    tokens = [stack.rpc.issue(f"user-{i}", ["read"], audience=["api"]).access_token for i in range(REVOCATIONS)]
    latencies = []
    for token in tokens:
        assert get(connection, "/", token)[0] == 200
        stack.rpc.revoke(token)
        answered = time.monotonic()
        while True:
            status, headers, _ = get(connection, "/", token)
            if status == 401:
                break
            assert status == 200 and time.monotonic() - answered < 2, (status, time.monotonic() - answered)
        latencies.append((time.monotonic() - answered) * 1000)
        assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token", error_description="revoked"'
    print(f"{name}: Revoke answered -> 401 over {REVOCATIONS} revocations: p50 {percentile(latencies, 50):.2f} ms, "
          f"p99 {percentile(latencies, 99):.2f} ms, max {max(latencies):.2f} ms")

    survivor = stack.rpc.issue("dave", ["read"], audience=["api"])
    assert get(connection, "/", survivor.access_token)[0] == 200
    stack.tokend.stop()
    stopped = time.monotonic()

    def unavailable():
        status, headers, _ = get(connection, "/", survivor.access_token)
        return (status == 503, (status, dict(headers)))

    (_, (status, headers)), seconds = poll(f"{name} to answer 503", unavailable, STALE_AFTER + 10)
    assert headers.get("Retry-After") == "1", headers
    print(f"{name}: tokend stopped -> 503 Retry-After {headers['Retry-After']} after {seconds * 1000:.0f} ms "
          f"(--stale-after {STALE_AFTER})")
    assert time.monotonic() - stopped < STALE_AFTER + 10
    status, _, _ = get(connection, "/", "garbage")
    assert status == 401, "a malformed token is refused without the mirror"
    connection.close()
    return latencies


@pytest.mark.skipif(shutil.which("nginx") is None and not os.environ.get("CI"), reason="nginx is not installed")
def test_nginx_auth_request(stack, processes):
    check_gateway(stack, start_nginx(processes, stack), "nginx")


@pytest.mark.skipif(shutil.which("caddy") is None and not os.environ.get("CI"), reason="caddy is not installed")
def test_caddy_forward_auth(stack, processes):
    check_gateway(stack, start_caddy(processes, stack), "caddy")


def test_gate_introspection_with_authlib(stack):
    url = stack.gate + "/introspect"
    session = OAuth2Session("resource-server", stack.keys["introspection"],
                            token_endpoint_auth_method="client_secret_basic")

    class GateValidator(IntrospectTokenValidator):
        def introspect_token(self, token_string):
            response = session.introspect_token(url, token=token_string, token_type_hint="access_token")
            response.raise_for_status()
            return response.json()

    validator = GateValidator()
    alice = stack.rpc.issue("alice", ["read", "write"], audience=["api"])
    token = validator.authenticate_token(alice.access_token)
    validator.validate_token(token, ["read"], None)
    with pytest.raises(InsufficientScopeError):
        validator.validate_token(token, ["admin"], None)
    claims = IntrospectionToken(token)
    assert claims.sub == "alice" and claims.jti == alice.token_id and claims.aud == "api"
    assert claims.get_expires_at() == alice.expires_at and claims.get_scope() == "read write"
    assert claims.iss == stack.issuer and claims.token_type == "Bearer"
    print("gate /introspect, authlib: active", dict(token))

    other = stack.rpc.issue("erin", ["read"], audience=["billing"])
    with pytest.raises(InvalidTokenError):
        validator.validate_token(validator.authenticate_token(other.access_token), [], None)
    stack.rpc.revoke(alice.access_token)
    poll("the revocation at the gate",
         lambda: (not validator.authenticate_token(alice.access_token)["active"], None), 5.0)
    with pytest.raises(InvalidTokenError):
        validator.validate_token(validator.authenticate_token(alice.access_token), ["read"], None)
    print("gate /introspect, authlib: inactive for another audience and once revoked")

    wrong = OAuth2Session("resource-server", "wrong", token_endpoint_auth_method="client_secret_basic")
    response = wrong.introspect_token(url, token=other.access_token)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client", response.text
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_tokend_oauth_endpoints_with_authlib(stack):
    well_known = get_well_known_url(stack.issuer, external=True)
    document = requests.get(well_known, timeout=5).json()
    metadata = AuthorizationServerMetadata(document)
    # What a client uses of it; token_endpoint and response_types_supported, which RFC 8414 requires
    # of an authorization server with those endpoints, tokend does not have.
    for check in ["validate_issuer", "validate_jwks_uri", "validate_revocation_endpoint",
                  "validate_revocation_endpoint_auth_methods_supported", "validate_introspection_endpoint",
                  "validate_introspection_endpoint_auth_methods_supported"]:
        getattr(metadata, check)()
    assert metadata["issuer"] == stack.issuer, "RFC 8414 §3.3: the issuer is the URL the document came from"
    print("tokend metadata, authlib:", document)

    alice = stack.rpc.issue("alice", ["read"], audience=["api"], refresh=True)
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(alice.access_token)
    claims = jwt.decode(alice.access_token, signing_key.key, algorithms=["EdDSA", "ES256"], audience="api",
                        issuer=stack.issuer)
    assert claims["sub"] == "alice"

    resource = OAuth2Session("resource", stack.keys["resource"], token_endpoint_auth_method="client_secret_basic")
    introspected = resource.introspect_token(metadata["introspection_endpoint"], token=alice.access_token).json()
    assert introspected["active"] is True and introspected["sub"] == "alice" and introspected["jti"] == claims["jti"]

    revoker = OAuth2Session("revoker", stack.keys["revoker"], revocation_endpoint_auth_method="client_secret_basic")
    response = revoker.revoke_token(metadata["revocation_endpoint"], token=alice.refresh_token,
                                    token_type_hint="refresh_token")
    assert response.status_code == 200, response.text
    for token in [alice.access_token, alice.refresh_token]:
        assert resource.introspect_token(metadata["introspection_endpoint"], token=token).json() == {"active": False}
    unknown = revoker.revoke_token(metadata["revocation_endpoint"], token="never-issued", token_type_hint="access_token")
    assert unknown.status_code == 200, "RFC 7009 §2.2: an unknown token is answered 200"
    forbidden = resource.revoke_token(metadata["revocation_endpoint"], token=alice.access_token)
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "unauthorized_client"
    print("tokend /oauth2/revoke and /oauth2/introspect, authlib: the refresh token's session ended")


def test_gate_command_line(processes, tmp_path):
    directory = str(tmp_path)
    gate = binary("TOKENGATE_BINARY")
    key = write_key(directory, "k", "key")
    base = [gate, "--listen", "127.0.0.1:0", "--tokend", "127.0.0.1:1", "--issuer", "https://x.test"]
    for content in [None, "", "x" * 5000]:
        path = os.path.join(directory, f"bad-{len(content or '')}-{content is None}")
        if content is not None:
            with open(path, "w") as f:
                f.write(content)
        result = subprocess.run(base + ["--key-file", path], stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=30)
        message = result.stderr.decode().strip()
        assert result.returncode == 2 and len(message.splitlines()) == 1 and "--key-file" in message, message
        assert result.stdout == b""
    for argv in [[gate, "--tokend", "127.0.0.1:1"], base + ["--key-file", key, "--stale-after", "0"],
                 [gate, "--listen", "nowhere", "--tokend", "127.0.0.1:1", "--issuer", "i", "--key-file", key]]:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        assert result.returncode == 64, (argv, result.returncode, result.stderr)
    # Without tokend it serves (503) but never becomes ready: no listening line; SIGTERM ends it cleanly.
    port = free_port()
    process = processes.spawn(base[:1] + ["--listen", f"127.0.0.1:{port}"] + base[3:] + ["--key-file", key],
                              stdout=subprocess.PIPE)
    wait_for_port(port, process, "tokengate")

    def unready():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return (False, 200)
        except urllib.error.HTTPError as error:
            return (error.code == 503 and json.loads(error.read())["keys_loaded"] is False, error.code)

    poll("tokengate's /healthz 503", unready, 10.0)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert process.stdout.read() == b"", "no listening line before the validator is ready"
    print("tokengate: exit 2 for unusable key files, 64 for bad flags; without tokend /healthz 503, no line, "
          "exit 0 on SIGTERM")

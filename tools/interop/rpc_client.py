#!/usr/bin/env python3
"""An independent client of the token.v1 protocol, knowing only the .proto and the wire contract.

Compiles proto/token/v1/token.proto with `protoc --python_out`, connects to a running tokend, and
checks the contract's answers. Prints one line per check and exits non-zero on the first mismatch.

usage: rpc_client.py HOST:PORT CREDENTIAL   (CREDENTIAL: an API key with the issue and validate roles)
"""
import importlib.util
import os
import socket
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = "/token.v1.TokenService/"
OK, INVALID_ARGUMENT, UNIMPLEMENTED, UNAUTHENTICATED = 0, 3, 12, 16


def load_proto_module():
    out = tempfile.mkdtemp(prefix="token-proto-py")
    subprocess.run(
        ["protoc", "--proto_path=" + os.path.join(ROOT, "proto"), "--python_out=" + out, "token/v1/token.proto"],
        check=True,
    )
    # Loaded by path: a package named "token" would clash with Python's own token module.
    spec = importlib.util.spec_from_file_location("token_v1_pb2", os.path.join(out, "token", "v1", "token_pb2.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Connection:
    def __init__(self, pb, address):
        host, port = address.rsplit(":", 1)
        self.pb = pb
        self.sock = socket.create_connection((host, int(port)), timeout=10)

    def send(self, call_id, method, payload=b"", credential=""):
        request = self.pb.RpcRequest(call_id=call_id, method=method, payload=payload, credential=credential)
        data = request.SerializeToString()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def receive(self):
        (length,) = struct.unpack(">I", self._read(4))
        response = self.pb.RpcResponse()
        response.ParseFromString(self._read(length))
        return response

    def _read(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("connection closed by the server")
            data += chunk
        return data


def check(condition, label):
    if not condition:
        print("FAIL: " + label)
        sys.exit(1)
    print("ok: " + label)


def main():
    address, credential = sys.argv[1], sys.argv[2]
    pb = load_proto_module()
    conn = Connection(pb, address)

    conn.send(1, SERVICE + "Health", pb.HealthRequest().SerializeToString())
    response = conn.receive()
    health = pb.HealthResponse()
    health.ParseFromString(response.payload)
    check(response.call_id == 1 and response.code == OK and response.end_of_stream, "Health answers OK")
    check(health.serving and health.store == "embedded", "Health says serving on the embedded store")

    conn.send(2, SERVICE + "Validate", pb.ValidateRequest(token="x").SerializeToString(), credential="wrong key")
    response = conn.receive()
    check(response.call_id == 2 and response.code == UNAUTHENTICATED, "a wrong credential is UNAUTHENTICATED")

    conn.send(3, SERVICE + "NoSuchMethod", b"", credential=credential)
    response = conn.receive()
    check(response.call_id == 3 and response.code == UNIMPLEMENTED, "an unknown method is UNIMPLEMENTED")

    conn.send(4, SERVICE + "Issue", b"\xff\xff\xff", credential=credential)
    response = conn.receive()
    check(response.call_id == 4 and response.code == INVALID_ARGUMENT, "a bad payload is INVALID_ARGUMENT")

    issue = pb.IssueRequest(subject="py-user", audience=["api"], scopes=["read"])
    conn.send(5, SERVICE + "Issue", issue.SerializeToString(), credential=credential)
    response = conn.receive()
    check(response.code == OK, "Issue answers OK")
    issued = pb.IssueResponse()
    issued.ParseFromString(response.payload)

    # Pipelined: three calls in flight on one connection, matched by call_id.
    for call_id, token in ((10, issued.access_token), (11, "garbage"), (12, issued.access_token)):
        conn.send(call_id, SERVICE + "Validate", pb.ValidateRequest(token=token, audience="api").SerializeToString(), credential)
    answers = {}
    for _ in range(3):
        response = conn.receive()
        result = pb.ValidateResponse()
        result.ParseFromString(response.payload)
        answers[response.call_id] = result
    check(answers[10].valid and answers[10].claims.subject == "py-user", "Validate accepts the issued token")
    check(not answers[11].valid and answers[11].reason == pb.MALFORMED, "Validate answers MALFORMED for garbage")
    check(answers[12].valid, "pipelined calls are matched by call_id")
    print("python client: all checks passed")


if __name__ == "__main__":
    main()

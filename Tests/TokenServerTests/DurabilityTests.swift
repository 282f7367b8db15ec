import Foundation
import Testing
import TokenClient
import TokenRPC
import TokenTestSupport
import TokenWire

/// End to end against the real `tokend` binary.
@Suite struct TokendProcessTests {
    @Test func acknowledgedRevocationsSurviveSIGKILL() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-durability")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let data = directory + "/data"

        let first = try TokendProcess(dataDirectory: data, callersFile: callers)
        let client = TokenServiceClient(wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: first.port)], credential: "admin"))
        let keysBefore = try await client.getKeys()
        let issued = try await withThrowingTaskGroup(of: IssueResponse.self) { group in
            for index in 0..<500 {
                group.addTask { try await client.issue(IssueRequest(subject: "user-\(index)")) }
            }
            return try await group.reduce(into: [IssueResponse]()) { $0.append($1) }
        }
        // 500 revocations in flight at once; the process dies right after the last OK.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, token) in issued.enumerated() {
                group.addTask {
                    let target: RevokeRequest.Target = index % 2 == 0 ? .tokenID(token.tokenID) : .sessionID(token.sessionID)
                    _ = try await client.revoke(RevokeRequest(target: target))
                }
            }
            try await group.waitForAll()
        }
        first.stop(signal: SIGKILL)
        await client.rpc.close()

        let second = try TokendProcess(dataDirectory: data, callersFile: callers)
        let restarted = TokenServiceClient(wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: second.port)], credential: "admin"))
        let keysAfter = try await restarted.getKeys()
        #expect(keysAfter.keys.map(\.keyID) == keysBefore.keys.map(\.keyID))
        #expect(keysAfter.keys.map(\.publicKeyDER) == keysBefore.keys.map(\.publicKeyDER))
        let reasons = try await withThrowingTaskGroup(of: Reason.self) { group in
            for token in issued {
                group.addTask { try await restarted.validate(ValidateRequest(token: token.accessToken)).reason }
            }
            return try await group.reduce(into: [Reason]()) { $0.append($1) }
        }
        #expect(reasons.count == 500)
        #expect(reasons.allSatisfy { $0 == .revoked })
        await restarted.rpc.close()
        #expect(second.stop(signal: SIGTERM) == 0)
    }

    @Test func aRevokedSigningKeyStaysRevokedAfterSIGKILL() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-key-revocation")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let data = directory + "/data"
        let http = ["--http-listen", "127.0.0.1:0"]

        let first = try TokendProcess(dataDirectory: data, callersFile: callers, extraArguments: http)
        let client = TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: first.port)], credential: "admin"))
        let leaked = try await client.issue(IssueRequest(subject: "alice"))
        let rotated = try await client.rotateKeys(RotateKeysRequest(revokePrevious: true))
        #expect(rotated.revokedKeyID == leaked.keyID)
        // The process dies right after the answer.
        first.stop(signal: SIGKILL)
        await client.rpc.close()

        let second = try TokendProcess(dataDirectory: data, callersFile: callers, extraArguments: http)
        let restarted = TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: second.port)], credential: "admin"))
        #expect(try await restarted.validate(ValidateRequest(token: leaked.accessToken)).reason == .revoked)
        let keys = try await restarted.getKeys()
        #expect(keys.keys.first?.keyID == rotated.keyID)
        #expect(!keys.keys.contains { $0.keyID == leaked.keyID })
        let jwks = try await RawHTTP.get(port: try second.httpPort(), "/.well-known/jwks.json")
        #expect(jwks.status == 200)
        #expect(jwks.body.contains(rotated.keyID))
        #expect(!jwks.body.contains(leaked.keyID))
        // A validator that starts now learns the revocation from its snapshot.
        let configuration = ValidatorHarness.configuration(port: second.port)
        try await ValidatorHarness.run(configuration) { validator in
            #expect(await validator.verify(leaked.accessToken).outcome == .invalid(.revoked))
            let fresh = try await restarted.issue(IssueRequest(subject: "alice"))
            #expect(await validator.verify(fresh.accessToken).outcome == .valid)
        }
        await restarted.rpc.close()
        #expect(second.stop(signal: SIGTERM) == 0)
    }

    @Test func aPythonClientThatKnowsOnlyTheProtoGetsTheContractsAnswers() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-python")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let tokend = try TokendProcess(dataDirectory: directory + "/data", callersFile: callers)
        let result = try PythonScript.run("tools/interop/rpc_client.py", arguments: ["127.0.0.1:\(tokend.port)", "admin"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("python client: all checks passed"))
        #expect(tokend.stop(signal: SIGTERM) == 0)
    }
}

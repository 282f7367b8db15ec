import Foundation
import Testing
import TokenClient
import TokenRPC
import TokenTestSupport
import TokenWire

/// `tokend --leeway`: the clock skew tolerated on `exp`, `nbf` and `iat`, which also keeps every
/// revocation that long past its tokens' expiry.
@Suite struct TokendLeewayTests {
    @Test func aLeewayOutOfRangeStopsTokend() throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-leeway")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, errors) = try TokendProcess.runUntilExit(
            arguments: [
                "--listen", "127.0.0.1:0", "--data-dir", directory + "/data",
                "--callers", try TokendProcess.writeCallersFile(in: directory), "--issuer", "https://tokens.test",
                "--leeway", "301",
            ],
            environment: [:])
        #expect(status != 0)
        #expect(errors.contains("--leeway must be 0 to 300 seconds"), "\(errors)")
    }

    @Test func theLeewayKeepsARevocationPastItsTokensExpiry() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-leeway")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokend = try TokendProcess(
            dataDirectory: directory + "/data", callersFile: try TokendProcess.writeCallersFile(in: directory),
            extraArguments: ["--access-ttl", "100", "--leeway", "7"])
        let admin = TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: tokend.port)], credential: "admin"))
        _ = try await admin.revoke(RevokeRequest(target: .tokenID("leeway-test")))

        var revoked: WireRevocationEvent?
        for try await batch in admin.watchRevocations(WatchRevocationsRequest(sinceSeq: 0)) {
            revoked = batch.events.first { $0.value == "leeway-test" }
            if revoked != nil || !batch.snapshot { break }
        }
        let event = try #require(revoked, "the snapshot holds the revocation")
        // A token id's revocation covers any token issued up to its time: its lifetime plus the leeway.
        #expect(event.expiresAt - event.revokedAt == 107)
        #expect(tokend.stop(signal: SIGTERM) == 0)
    }
}

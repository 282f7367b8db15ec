import Foundation
import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenTestSupport
import TokenWire

/// `TokenValidator` while the real `tokend` process stops and restarts.
@Suite struct TokenValidatorOutageTests {
    @Test func staleMirrorFollowsThePolicyThenResumesFromItsSeq() async throws {
        let directory = try TemporaryDirectory.make(prefix: "validator-outage")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let data = directory + "/data"
        var tokend = try TokendProcess(dataDirectory: data, callersFile: callers)
        let port = tokend.port
        let admin = TokenServiceClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: port)], credential: "admin")
        defer { Task { await admin.close() } }

        // tokend sends a heartbeat every second.
        let failClosed = ValidatorHarness.configuration(port: port, staleAfter: .milliseconds(1_500)) {
            $0.initialReconnectDelay = .milliseconds(200)
            $0.maximumReconnectDelay = .seconds(1)
        }
        var failOpen = failClosed
        failOpen.policy = .failOpen

        try await ValidatorHarness.run(failClosed) { closed in
            try await ValidatorHarness.run(failOpen) { open in
                let alice = try await admin.issue(IssueRequest(subject: "alice"))
                let bob = try await admin.issue(IssueRequest(subject: "bob"))
                let mallory = try await admin.issue(IssueRequest(subject: "mallory"))
                let early = try await admin.revoke(RevokeRequest(target: .tokenID(mallory.tokenID))).seq
                for validator in [closed, open] {
                    try await validator.waitUntilApplied(seq: early)
                    #expect(await validator.verify(alice.accessToken).outcome == .valid)
                    #expect(await validator.verify(mallory.accessToken).outcome == .invalid(.revoked))
                }

                #expect(tokend.stop(signal: SIGTERM) == 0)
                for validator in [closed, open] {
                    try await within(.seconds(20), "the mirror to turn stale") {
                        try await validator.waitUntil { !$0.mirrorFresh }
                    }
                    // The last good keys keep verifying signatures: bob's token was never verified before.
                    let stale = await validator.verify(bob.accessToken)
                    #expect(stale.claims?.subject == "bob")
                    #expect(stale.source == .policy)
                    // What the stale mirror knows stays known, and bad tokens stay bad.
                    #expect(await validator.verify(mallory.accessToken).outcome == .invalid(.revoked))
                    #expect(await validator.verify("garbage").outcome == .invalid(.malformed))
                    // Strict calls never guess.
                    #expect(await validator.verify(alice.accessToken, mode: .strict).outcome == .unknown)
                    #expect(validator.state.keysLoaded)
                    #expect(!validator.state.isReady)
                }
                let refused = await closed.verify(alice.accessToken)
                #expect(refused.outcome == .unknown)
                #expect(refused.source == .policy)
                let accepted = await open.verify(alice.accessToken)
                #expect(accepted.outcome == .valid)
                #expect(accepted.source == .policy)
                #expect(open.state.failOpenAcceptances == 2)
                #expect(closed.state.failOpenAcceptances == 0)
                #expect(closed.state.unknownRefusals >= 3)

                // Restarted on the same port: the mirrors resume after their seq, without a snapshot,
                // and see what was revoked since.
                tokend = try TokendProcess(dataDirectory: data, callersFile: callers, listenPort: port)
                let later = try await admin.revoke(RevokeRequest(target: .sessionID(alice.sessionID))).seq
                for validator in [closed, open] {
                    try await within(.seconds(20), "the mirror to resume") {
                        try await validator.waitUntil { $0.appliedSeq >= later && $0.mirrorFresh }
                    }
                    #expect(await validator.verify(alice.accessToken).outcome == .invalid(.revoked))
                    #expect(await validator.verify(bob.accessToken).outcome == .valid)
                    #expect(validator.state.snapshotsApplied == 1)
                    #expect(validator.state.streamsOpened >= 2)
                }
            }
        }
        tokend.stop(signal: SIGTERM)
    }
}

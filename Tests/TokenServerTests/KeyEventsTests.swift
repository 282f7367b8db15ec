import Foundation
import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenWire

@testable import TokenServer

/// Key ring changes travel in the revocation log: in order with the revocations around them, to the
/// service's own checks and to every validator.
@Suite struct KeyEventsTests {
    static func fastHeartbeats(_ configuration: inout TokenServiceConfiguration) {
        configuration.heartbeatInterval = .milliseconds(50)
    }

    /// The events of a live stream up to and including the one with `seq`.
    static func events(
        upTo seq: UInt64,
        from batches: inout some AsyncIteratorProtocol<RevocationBatch, any Error>
    ) async throws -> [WireRevocationEvent] {
        var events: [WireRevocationEvent] = []
        while !events.contains(where: { $0.seq >= seq }) {
            guard let batch = try await batches.next() else { throw HarnessError(message: "the stream ended") }
            events += batch.events
        }
        return events
    }

    /// A live stream: its snapshot has been read.
    static func liveStream(
        _ client: TokenServiceClient
    ) async throws -> some AsyncIteratorProtocol<RevocationBatch, any Error> {
        var batches = client.watchRevocations(WatchRevocationsRequest()).makeAsyncIterator()
        while let batch = try await batches.next(), batch.snapshot {}
        return batches
    }

    /// The signing key with this id, read from the embedded store's key files.
    static func signingKey(_ keyID: String, of server: TokenTestServer) throws -> SigningKey {
        let url = URL(fileURLWithPath: server.directory + "/data/keys/\(keyID).der")
        return try SigningKey(pkcs8DER: Array(try Data(contentsOf: url)))
    }

    @Test func rotationsAndRemovalsAreEventsOfTheLogInOrderWithTheRevocationsAroundThem() async throws {
        try await TokenTestServer.with { server in
            var batches = try await Self.liveStream(server.client("validator"))
            let gateway = server.client("gateway")
            let before = try await gateway.revoke(RevokeRequest(target: .tokenID("before")))
            let rotated = try await server.client("admin").rotateKeys()
            let after = try await gateway.revoke(RevokeRequest(target: .tokenID("after")))
            #expect(rotated.revokedKeyID.isEmpty)
            let events = try await Self.events(upTo: after.seq, from: &batches)
            #expect(events.map(\.seq) == [before.seq, rotated.seq, after.seq])
            #expect(events.map(\.kind) == [.token, .keyRing, .token])
            let keys = try await server.client("").getKeys().keys
            #expect(events[1].keys == keys)
            #expect(events[1].keys.map(\.state) == [.active, .next, .retiring])
            #expect(events[1].keys.first?.keyID == rotated.keyID)

            // Once the retiring key's tokens have all expired, its removal is an event too.
            server.clock.advance(by: 900 + 30 + 1)
            await server.service.maintain()
            let pruned = try await Self.events(upTo: rotated.seq + 2, from: &batches)
            #expect(pruned.map(\.kind) == [.keyRing])
            #expect(pruned.first?.keys.map(\.state) == [.active, .next])
            #expect(pruned.first?.keys == (try await server.client("").getKeys().keys))
        }
    }

    @Test func revokingThePreviousKeyRefusesItsTokensAndStopsPublishingIt() async throws {
        try await TokenTestServer.with { server in
            var batches = try await Self.liveStream(server.client("validator"))
            let old = try await server.client("issuer").issue(IssueRequest(subject: "alice"))
            let next = try #require(try await server.client("").getKeys().keys.first { $0.state == .next })

            let rotated = try await server.client("admin").rotateKeys(RotateKeysRequest(revokePrevious: true))
            #expect(rotated.keyID == next.keyID)
            #expect(rotated.revokedKeyID == old.keyID)
            // From the answer on: refused, and no longer published.
            let refused = try await server.client("validator").validate(ValidateRequest(token: old.accessToken))
            #expect(!refused.valid)
            #expect(refused.reason == .revoked)
            let keys = try await server.client("").getKeys()
            #expect(keys.keys.map(\.keyID) == [rotated.keyID, keys.keys[1].keyID])
            #expect(!keys.jwksJSON.contains(old.keyID))
            #expect(server.service.httpRoutes(readinessTimeout: .seconds(5)).keySet().0 == keys.jwksJSON)
            let fresh = try await server.client("issuer").issue(IssueRequest(subject: "alice"))
            #expect(fresh.keyID == rotated.keyID)
            #expect(try await server.client("validator").validate(ValidateRequest(token: fresh.accessToken)).valid)

            // Watchers get the key's revocation, then the ring without it.
            let events = try await Self.events(upTo: rotated.seq, from: &batches)
            #expect(events.map(\.kind) == [.key, .keyRing])
            #expect(events.map(\.seq) == [rotated.seq - 1, rotated.seq])
            #expect(events[0].value == old.keyID)
            #expect(events[0].expiresAt >= events[0].revokedAt + 900 + 30)
            #expect(events[1].keys == keys.keys)

            // A snapshot carries the revoked key and the latest ring only.
            var snapshot: [WireRevocationEvent] = []
            var fromStart = server.client("validator").watchRevocations(WatchRevocationsRequest()).makeAsyncIterator()
            while let batch = try await fromStart.next(), batch.snapshot {
                snapshot += batch.events
            }
            #expect(snapshot.map(\.kind) == [.key, .keyRing])
            #expect(snapshot.first?.value == old.keyID)
            #expect(snapshot.last?.keys == keys.keys)
        }
    }

    static func claims(subject: String, now: Int64) throws -> Claims {
        Claims(
            issuer: "https://tokens.test", subject: subject, audience: ["api"], scopes: ["read"],
            tokenID: try TokenID.random().text, sessionID: try TokenID.random().text, issuedAt: now,
            expiresAt: now + 600, notBefore: now)
    }
}

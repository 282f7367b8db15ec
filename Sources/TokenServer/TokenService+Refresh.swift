import TokenCore
import TokenRPC
import TokenStore
import TokenWire

extension TokenService {
    func refresh(_ request: RefreshRequest, context: RPCContext) async throws -> IssueResponse {
        let presented = request.refreshToken
        guard let (sessionID, hash) = RefreshToken.lookupKey(of: presented) else {
            throw Self.refreshRejected
        }
        // Concurrent refreshes of one token in this process share one attempt; the store's
        // compare-and-swap settles races between processes.
        return try await refreshes.run(key: hash) {
            try await self.refreshOnce(
                presented: presented, sessionID: sessionID, hash: hash, accessTTL: request.accessTTLSeconds,
                context: context)
        }
    }

    private func refreshOnce(
        presented: String,
        sessionID: TokenID,
        hash: [UInt8],
        accessTTL: UInt32,
        context: RPCContext
    ) async throws -> IssueResponse {
        let now = clock.now()
        let sessionText = sessionID.text
        guard let record = try await storeCall({ try await store.refreshToken(hash: hash, sessionID: sessionText) }) else {
            throw Self.refreshRejected
        }
        if let spentAt = record.spentAt {
            return try await answerSpent(record, spentAt: spentAt, presented: presented, now: now, context: context)
        }
        // Leeway never extends a refresh token's lifetime. A session its subject's revocation covers
        // (one that began at or before it) is over; these checks spare the signing, while the
        // store's spend checks the same atomically.
        guard now < record.expiresAt,
            let session = try await storeCall({ try await store.session(id: record.sessionID) }),
            session.revokedAt == nil,
            !revocations.isRevoked(
                tokenID: "", sessionID: session.sessionID, subject: session.subject, issuedAt: session.createdAt)
        else {
            throw Self.refreshRejected
        }
        var minted = try mint(for: session, requestedTTL: accessTTL, now: now)
        let successor = try newRefreshToken(sessionID: sessionID, now: now)
        minted.refreshToken = successor.value
        minted.refreshExpiresAt = successor.record.expiresAt
        let rotation = RefreshRotation(
            spentAt: now,
            replay: try Self.sealReplay(minted, presented: presented, hash: hash),
            successor: successor.record,
            sessionExpiresAt: successor.record.expiresAt
        )
        if try await storeCall({ try await store.spendRefreshToken(hash: hash, rotation: rotation) }) {
            return minted
        }
        // Another instance spent it first: answer as a retry of that refresh.
        guard let spent = try await storeCall({ try await store.refreshToken(hash: hash, sessionID: sessionText) }),
            let spentAt = spent.spentAt
        else {
            throw Self.refreshRejected
        }
        return try await answerSpent(spent, spentAt: spentAt, presented: presented, now: now, context: context)
    }

    /// A spent token presented again: within the grace it is a retry and gets the same pair; after
    /// it, it is reuse, a sign of theft, and the whole session is revoked.
    private func answerSpent(
        _ record: RefreshTokenRecord,
        spentAt: Int64,
        presented: String,
        now: Int64,
        context: RPCContext
    ) async throws -> IssueResponse {
        if now - spentAt <= configuration.refreshReuseGrace, configuration.refreshReuseGrace > 0,
            let session = try await storeCall({ try await store.session(id: record.sessionID) }),
            session.revokedAt == nil,
            let replay = try? Self.openReplay(record.replay, presented: presented, hash: record.hash)
        {
            return replay
        }
        let receipt = try await storeCall {
            try await store.revoke(
                RevocationRequest(
                    kind: .session,
                    value: record.sessionID,
                    revokedAt: now,
                    expiresAt: now + configuration.accessTTL + configuration.leeway,
                    reason: "refresh token reuse"
                )
            )
        }
        revocations.applyStored(receipt.event)
        context.logger.warning(
            "refresh token reused after its grace: session revoked",
            metadata: ["session_id": "\(record.sessionID)", "caller": "\(context.caller?.name ?? "")"]
        )
        throw Self.refreshRejected
    }

    static var refreshRejected: RPCError {
        RPCError(code: .unauthenticated, message: "refresh token is unknown, expired, spent or revoked")
    }

    /// Seals the answer of a refresh under a key only a holder of the presented token can derive
    /// (the store keeps SHA-256 of the token, a different hash).
    private static func sealReplay(_ response: IssueResponse, presented: String, hash: [UInt8]) throws -> [UInt8] {
        try AESGCM.seal(key: replayKey(presented), plaintext: response.serializedBytes(), associatedData: hash)
    }

    private static func openReplay(_ sealed: [UInt8], presented: String, hash: [UInt8]) throws -> IssueResponse {
        let plaintext = try AESGCM.open(key: replayKey(presented), sealed: sealed, associatedData: hash)
        return try IssueResponse(serializedBytes: plaintext)
    }

    private static func replayKey(_ presented: String) -> [UInt8] {
        SHA256.hash(Array("token.v1 refresh replay\u{0}".utf8) + Array(presented.utf8))
    }
}

import Logging
import TokenCore
import TokenRPC
import TokenStore
import TokenWire

extension TokenService {
    /// The longest id or subject Revoke accepts.
    static let maxRevokeValueBytes = 1_024
    /// The most of a revocation's reason the audit log keeps (escaped; the store keeps it whole).
    static let maxLoggedReasonBytes = 256

    func revoke(_ request: RevokeRequest, context: RPCContext) async throws -> RevokeResponse {
        try await revoke(request, caller: context.caller, logger: context.logger)
    }

    /// Revoke, for `caller` (the RPC method's, or the HTTP port's RFC 7009 endpoint's).
    func revoke(_ request: RevokeRequest, caller: Caller?, logger: Logger) async throws -> RevokeResponse {
        guard let target = request.target else {
            throw RPCError(code: .invalidArgument, message: "no revocation target set")
        }
        let now = clock.now()
        // After this, no access token issued before `now` can still be valid.
        let coverEnd = now + configuration.accessTTL + configuration.leeway
        let revocation: RevocationRequest
        switch target {
        case .token(let token):
            guard let identified = try await identify(token: token, now: now) else {
                // Neither one of our access tokens nor a known refresh token: nothing to store.
                return RevokeResponse(seq: 0, sessionsRevoked: 0)
            }
            revocation = RevocationRequest(
                kind: identified.kind,
                value: identified.value,
                revokedAt: now,
                expiresAt: identified.expiresAt ?? coverEnd,
                reason: request.reason
            )
        case .tokenID(let tokenID):
            try Self.checkRevokeValue(tokenID, name: "token_id")
            revocation = RevocationRequest(kind: .token, value: tokenID, revokedAt: now, expiresAt: coverEnd, reason: request.reason)
        case .sessionID(let sessionID):
            try Self.checkRevokeValue(sessionID, name: "session_id")
            revocation = RevocationRequest(kind: .session, value: sessionID, revokedAt: now, expiresAt: coverEnd, reason: request.reason)
        case .subject(let subject):
            guard caller?.has(.admin) == true else {
                throw RPCError(code: .permissionDenied, message: "revoking a subject needs the admin role")
            }
            try Self.checkRevokeValue(subject, name: "subject")
            revocation = RevocationRequest(kind: .subject, value: subject, revokedAt: now, expiresAt: coverEnd, reason: request.reason)
        }
        let receipt = try await storeCall { try await store.revoke(revocation) }
        revocations.applyStored(receipt.event)
        // The audit log: who revoked what and why (the target and the reason are client text).
        logger.info(
            "revoked",
            metadata: [
                "kind": "\(receipt.event.kind)", "target": "\(LogText.escaped(receipt.event.value))",
                "seq": "\(receipt.event.seq)", "sessions_revoked": "\(receipt.sessionsRevoked)",
                "caller": "\(caller?.name ?? "")",
                "reason": "\(LogText.escaped(request.reason, maxBytes: Self.maxLoggedReasonBytes))",
            ]
        )
        return RevokeResponse(seq: receipt.event.seq, sessionsRevoked: UInt32(clamping: receipt.sessionsRevoked))
    }

    /// What a presented token names: an access token of ours (by its verified `jti`) or a refresh
    /// token (its session).
    private func identify(token: String, now: Int64) async throws -> (kind: RevocationEvent.Kind, value: String, expiresAt: Int64?)? {
        let verified = verifier.verify(token, keys: keys.snapshot.keySet, audience: nil, now: now)
        if let claims = verified.claims {
            return (.token, claims.tokenID, max(claims.expiresAt + configuration.leeway, now))
        }
        guard let (sessionID, hash) = RefreshToken.lookupKey(of: token),
            let record = try await storeCall({ try await store.refreshToken(hash: hash, sessionID: sessionID.text) })
        else { return nil }
        return (.session, record.sessionID, nil)
    }

    private static func checkRevokeValue(_ value: String, name: String) throws {
        guard !value.isEmpty, value.utf8.count <= maxRevokeValueBytes else {
            throw RPCError(code: .invalidArgument, message: "\(name) must be 1 to \(maxRevokeValueBytes) bytes")
        }
    }

    func listSessions(_ request: ListSessionsRequest) async throws -> ListSessionsResponse {
        guard !request.subject.isEmpty, request.subject.utf8.count <= IssueLimits.subjectBytes else {
            throw RPCError(code: .invalidArgument, message: "subject must be 1 to \(IssueLimits.subjectBytes) bytes")
        }
        let now = clock.now()
        let limit = configuration.maxListedSessions
        let sessions = try await storeCall {
            // One more than the cap, to tell a subject at the cap from one over it.
            try await store.liveSessions(subject: request.subject, now: now, limit: limit < .max ? limit + 1 : limit)
        }
        guard sessions.count <= limit else {
            throw RPCError(
                code: .resourceExhausted,
                message: "the subject has more than \(limit) live sessions; Revoke by subject ends them all"
            )
        }
        return ListSessionsResponse(
            sessions: sessions.map { session in
                WireSession(
                    sessionID: session.sessionID,
                    subject: session.subject,
                    createdAt: session.createdAt,
                    refreshedAt: session.refreshedAt,
                    expiresAt: session.expiresAt,
                    metadata: session.metadata
                )
            }
        )
    }
}

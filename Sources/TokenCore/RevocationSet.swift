/// Revocations in force, in memory: the server's view and the client library's mirror of the
/// `WatchRevocations` stream. Token ids in the canonical 22-character form are kept as 16 bytes.
public struct RevocationSet: Sendable {
    private struct SubjectRevocation: Sendable {
        var revokedAt: Int64
        var expiresAt: Int64
    }

    /// Revoked `jti`s, with when their entries may be dropped.
    private var tokens: [TokenID: Int64] = [:]
    /// Revoked `jti`s that are not in the canonical form (tokens minted elsewhere).
    private var otherTokens: [String: Int64] = [:]
    private var sessions: [String: Int64] = [:]
    private var subjects: [String: SubjectRevocation] = [:]
    /// Revoked signing keys (`kid`s), with when their entries may be dropped.
    private var keys: [String: Int64] = [:]

    /// Creates an empty set.
    public init() {}

    /// How many revocations the set holds.
    public var count: Int {
        tokens.count + otherTokens.count + sessions.count + subjects.count + keys.count
    }

    /// Whether the set holds no revocation.
    public var isEmpty: Bool {
        count == 0
    }

    /// Adds a revocation. Idempotent: applying an event again (or an older event for the same
    /// target) changes nothing; for a subject the latest `revokedAt` wins. A key ring event is no
    /// revocation: it changes nothing.
    /// - Parameter event: The event.
    public mutating func apply(_ event: RevocationEvent) {
        switch event.kind {
        case .token:
            if let id = TokenID(event.value) {
                tokens[id] = max(tokens[id] ?? event.expiresAt, event.expiresAt)
            } else {
                otherTokens[event.value] = max(otherTokens[event.value] ?? event.expiresAt, event.expiresAt)
            }
        case .session:
            sessions[event.value] = max(sessions[event.value] ?? event.expiresAt, event.expiresAt)
        case .subject:
            let existing = subjects[event.value]
            subjects[event.value] = SubjectRevocation(
                revokedAt: max(existing?.revokedAt ?? event.revokedAt, event.revokedAt),
                expiresAt: max(existing?.expiresAt ?? event.expiresAt, event.expiresAt)
            )
        case .signingKey:
            keys[event.value] = max(keys[event.value] ?? event.expiresAt, event.expiresAt)
        case .keyRing:
            break
        }
    }

    /// Whether the signing key with this `kid` is revoked: every token naming it is.
    /// - Parameter keyID: The token's `kid`.
    /// - Returns: True when revoked.
    public func isRevoked(keyID: String) -> Bool {
        !keys.isEmpty && keys[keyID] != nil
    }

    /// Whether a token is revoked: by its `jti`, its session, or its subject (when `iat` ≤ the
    /// subject's `revokedAt`).
    /// - Parameters:
    ///   - tokenID: The `jti`.
    ///   - sessionID: The `sid` ("" for none).
    ///   - subject: The `sub`.
    ///   - issuedAt: The `iat`.
    /// - Returns: True when revoked.
    public func isRevoked(tokenID: String, sessionID: String, subject: String, issuedAt: Int64) -> Bool {
        if isEmpty { return false }
        if let id = TokenID(tokenID) {
            if tokens[id] != nil { return true }
        } else if otherTokens[tokenID] != nil {
            return true
        }
        if !sessionID.isEmpty, sessions[sessionID] != nil { return true }
        if let revocation = subjects[subject], issuedAt <= revocation.revokedAt { return true }
        return false
    }

    /// Whether the token with these claims is revoked.
    /// - Parameter claims: The token's claims.
    /// - Returns: True when revoked.
    public func isRevoked(_ claims: Claims) -> Bool {
        isRevoked(
            tokenID: claims.tokenID,
            sessionID: claims.sessionID,
            subject: claims.subject,
            issuedAt: claims.issuedAt
        )
    }

    /// Every revocation the set holds, one event per target (`seq` 0). A token's or a session's
    /// `revokedAt` is not kept (only its subject's is): it is 0 there.
    public var entries: [RevocationEvent] {
        var entries: [RevocationEvent] = []
        entries.reserveCapacity(count)
        for (id, expiresAt) in tokens {
            entries.append(RevocationEvent(seq: 0, kind: .token, value: id.text, revokedAt: 0, expiresAt: expiresAt))
        }
        for (value, expiresAt) in otherTokens {
            entries.append(RevocationEvent(seq: 0, kind: .token, value: value, revokedAt: 0, expiresAt: expiresAt))
        }
        for (value, expiresAt) in sessions {
            entries.append(RevocationEvent(seq: 0, kind: .session, value: value, revokedAt: 0, expiresAt: expiresAt))
        }
        for (value, revocation) in subjects {
            entries.append(
                RevocationEvent(
                    seq: 0, kind: .subject, value: value, revokedAt: revocation.revokedAt,
                    expiresAt: revocation.expiresAt))
        }
        for (value, expiresAt) in keys {
            entries.append(RevocationEvent(seq: 0, kind: .signingKey, value: value, revokedAt: 0, expiresAt: expiresAt))
        }
        return entries
    }

    /// Drops entries whose `expiresAt` has passed: no token they cover can still be valid.
    /// - Parameter now: The current time (Unix seconds).
    public mutating func prune(now: Int64) {
        tokens = tokens.filter { $0.value >= now }
        otherTokens = otherTokens.filter { $0.value >= now }
        sessions = sessions.filter { $0.value >= now }
        subjects = subjects.filter { $0.value.expiresAt >= now }
        keys = keys.filter { $0.value >= now }
    }
}

/// Revocations in force, in memory: the server's view and the client library's mirror of the
/// `WatchRevocations` stream. Token and session ids in the canonical 22-character form are kept as
/// 16 bytes.
public struct RevocationSet: Sendable {
    private struct SubjectRevocation: Sendable {
        var revokedAt: Int64
        var expiresAt: Int64
    }

    /// Revoked `jti`s, with when their entries may be dropped.
    private var tokens: [TokenID: Int64] = [:]
    /// Revoked `jti`s that are not in the canonical form (tokens minted elsewhere).
    private var otherTokens: [String: Int64] = [:]
    private var sessions: [TokenID: Int64] = [:]
    /// Revoked `sid`s that are not in the canonical form.
    private var otherSessions: [String: Int64] = [:]
    private var subjects: [String: SubjectRevocation] = [:]
    /// The latest `revokedAt` of the revoked subjects of each fingerprint, so that a `RevocationProbe`
    /// can rule a subject out without its text.
    private var subjectFingerprints: [Int: Int64] = [:]
    /// Revoked signing keys (`kid`s), with when their entries may be dropped.
    private var keys: [String: Int64] = [:]

    /// Creates an empty set.
    public init() {}

    /// How many revocations the set holds.
    public var count: Int {
        tokens.count + otherTokens.count + sessions.count + otherSessions.count + subjects.count + keys.count
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
            if let id = TokenID(event.value) {
                sessions[id] = max(sessions[id] ?? event.expiresAt, event.expiresAt)
            } else {
                otherSessions[event.value] = max(otherSessions[event.value] ?? event.expiresAt, event.expiresAt)
            }
        case .subject:
            let existing = subjects[event.value]
            let revocation = SubjectRevocation(
                revokedAt: max(existing?.revokedAt ?? event.revokedAt, event.revokedAt),
                expiresAt: max(existing?.expiresAt ?? event.expiresAt, event.expiresAt)
            )
            subjects[event.value] = revocation
            let fingerprint = RevocationProbe.fingerprint(ofSubject: event.value)
            subjectFingerprints[fingerprint] = max(subjectFingerprints[fingerprint] ?? .min, revocation.revokedAt)
        case .signingKey:
            keys[event.value] = max(keys[event.value] ?? event.expiresAt, event.expiresAt)
        case .keyRing:
            break
        }
    }

    /// How many signing keys the set holds revoked.
    public var revokedKeyCount: Int {
        keys.count
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
        return isTokenRevoked(tokenID) || isSessionRevoked(sessionID)
            || isSubjectRevoked(subject, issuedAt: issuedAt)
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
        for (id, expiresAt) in sessions {
            entries.append(RevocationEvent(seq: 0, kind: .session, value: id.text, revokedAt: 0, expiresAt: expiresAt))
        }
        for (value, expiresAt) in otherSessions {
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

    /// Whether the token of this probe is revoked, as far as the probe can tell.
    /// - Parameter probe: The token's probe.
    /// - Returns: True or false; nil when a revoked subject shares the probe's subject fingerprint
    ///   and revoked tokens issued at its `iat`: then only the claims can tell.
    public func isRevoked(_ probe: RevocationProbe) -> Bool? {
        if isEmpty { return false }
        if isTokenRevoked(probe.tokenID) { return true }
        if let sessionID = probe.sessionID, isSessionRevoked(sessionID) { return true }
        if mayRevokeSubject(fingerprint: probe.subjectFingerprint, issuedAt: probe.issuedAt) { return nil }
        return false
    }

    /// Drops entries whose `expiresAt` has passed: no token they cover can still be valid.
    /// - Parameter now: The current time (Unix seconds).
    public mutating func prune(now: Int64) {
        tokens = tokens.filter { $0.value >= now }
        otherTokens = otherTokens.filter { $0.value >= now }
        sessions = sessions.filter { $0.value >= now }
        otherSessions = otherSessions.filter { $0.value >= now }
        let before = subjects.count
        subjects = subjects.filter { $0.value.expiresAt >= now }
        keys = keys.filter { $0.value >= now }
        if subjects.count != before {
            subjectFingerprints = [:]
            for (subject, revocation) in subjects {
                let fingerprint = RevocationProbe.fingerprint(ofSubject: subject)
                subjectFingerprints[fingerprint] = max(subjectFingerprints[fingerprint] ?? .min, revocation.revokedAt)
            }
        }
    }

    // MARK: - One kind at a time (for `SharedRevocationSet`, whose shards each hold some of every kind)

    func isTokenRevoked(_ tokenID: String) -> Bool {
        if let id = TokenID(tokenID) { return isTokenRevoked(id) }
        return otherTokens[tokenID] != nil
    }

    func isTokenRevoked(_ id: TokenID) -> Bool {
        tokens[id] != nil
    }

    func isSessionRevoked(_ sessionID: String) -> Bool {
        if sessionID.isEmpty { return false }
        if let id = TokenID(sessionID) { return isSessionRevoked(id) }
        return otherSessions[sessionID] != nil
    }

    func isSessionRevoked(_ id: TokenID) -> Bool {
        sessions[id] != nil
    }

    func isSubjectRevoked(_ subject: String, issuedAt: Int64) -> Bool {
        guard let revocation = subjects[subject] else { return false }
        return issuedAt <= revocation.revokedAt
    }

    func mayRevokeSubject(fingerprint: Int, issuedAt: Int64) -> Bool {
        guard let latest = subjectFingerprints[fingerprint] else { return false }
        return issuedAt <= latest
    }
}

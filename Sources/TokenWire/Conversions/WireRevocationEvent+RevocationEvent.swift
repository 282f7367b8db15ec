import TokenCore

extension WireRevocationEvent {
    /// The wire form of a stored event. A key ring event carries the published keys instead of its
    /// stored value, and no expiry (it stands until the next one); one whose value holds no keys (a
    /// damaged store) goes out without keys, which tells a validator to fetch them.
    package init(_ event: RevocationEvent) {
        let kind: RevocationKind =
            switch event.kind {
            case .token: .token
            case .session: .session
            case .subject: .subject
            case .signingKey: .key
            case .keyRing: .keyRing
            }
        guard event.kind == .keyRing else {
            self.init(
                seq: event.seq, kind: kind, value: event.value, revokedAt: event.revokedAt, expiresAt: event.expiresAt)
            return
        }
        self.init(
            seq: event.seq, kind: kind, revokedAt: event.revokedAt, keys: PublishedKeyRing.decode(event.value) ?? [])
    }
}

extension RevocationEvent {
    /// The domain form of a wire revocation; nil for a kind this version does not know (it revokes
    /// nothing this version could check), a key revocation without a `kid`, and a key ring change
    /// (no revocation: the validator's key events handle it).
    package init?(_ event: WireRevocationEvent) {
        let kind: Kind
        switch event.kind {
        case .token: kind = .token
        case .session: kind = .session
        case .subject: kind = .subject
        case .key where !event.value.isEmpty: kind = .signingKey
        case .key, .keyRing, .unspecified, .unrecognized: return nil
        }
        self.init(
            seq: event.seq, kind: kind, value: event.value, revokedAt: event.revokedAt, expiresAt: event.expiresAt)
    }
}

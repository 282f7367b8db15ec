import TokenCore

/// The key layout of the Redis store (see docs/redis.md). Everything about one subject's sessions
/// carries the subject as a hash tag (`{<sub>}`), so a Redis Cluster keeps it on one slot.
struct RedisStoreKeys: Sendable {
    let prefix: String

    var seq: [UInt8] { bytes("revocations:seq") }
    var events: [UInt8] { bytes("revocations:events") }
    var liveEvents: [UInt8] { bytes("revocations:live") }
    var purgedSeq: [UInt8] { bytes("revocations:purged") }
    var epoch: [UInt8] { bytes("revocations:epoch") }
    var expiry: [UInt8] { bytes("expiry") }
    var keyRing: [UInt8] { bytes("keyring") }
    /// The seq of the key ring event that logged the stored ring.
    var keyRingSeq: [UInt8] { bytes("keyring:seq") }
    var keyRingLock: [UInt8] { bytes("keyring:lock") }

    /// The public revocation key of a target: `<prefix>revoked:<jti|sid|sub|kid>:<value>`.
    func revoked(_ kind: RevocationEvent.Kind, _ value: String) -> [UInt8] {
        bytes("revoked:\(RedisTokenStore.publicName(kind)):\(value)")
    }

    func sessionSubject(_ sessionID: String) -> [UInt8] { bytes("session-subject:\(sessionID)") }
    func subjectBase(_ subject: String) -> String { "\(prefix){\(subject)}:" }
    func session(_ subject: String, _ sessionID: String) -> [UInt8] {
        Array((subjectBase(subject) + "session:" + sessionID).utf8)
    }
    func sessions(_ subject: String) -> [UInt8] { Array((subjectBase(subject) + "sessions").utf8) }
    /// The subject's latest minted `iat` (`iat`) and latest revocation (`rv`).
    func subjectState(_ subject: String) -> [UInt8] { Array((subjectBase(subject) + "subject").utf8) }
    func spent(_ subject: String, _ sessionID: String, hash: [UInt8]) -> [UInt8] {
        Array((subjectBase(subject) + "spent:" + sessionID + ":" + Hex.encode(hash)).utf8)
    }

    /// The expiry index member of a session: `s|<len(sub)>|<sub><sid>`.
    static func sessionMember(_ subject: String, _ sessionID: String) -> [UInt8] {
        Array("s|\(subject.utf8.count)|\(subject)\(sessionID)".utf8)
    }

    /// The expiry index member of a spent refresh token: `r|<hex>|<len(sub)>|<sub><sid>`.
    static func spentMember(_ subject: String, _ sessionID: String, hash: [UInt8]) -> [UInt8] {
        Array("r|\(Hex.encode(hash))|\(subject.utf8.count)|\(subject)\(sessionID)".utf8)
    }

    private func bytes(_ suffix: String) -> [UInt8] {
        Array((prefix + suffix).utf8)
    }
}

import TokenCore

/// The form of refresh tokens: base64url of the session's 16-byte id followed by 32 random bytes
/// (64 characters, 256 secret bits).
///
/// The store knows a token only by its lookup key: the session id's bytes followed by SHA-256 of the
/// whole token. Session ids are time-ordered, so new keys append to the store's index instead of
/// landing on random pages, and a token's value can never be recovered from what is stored.
enum RefreshToken {
    /// Length of a token's text.
    static let textLength = 64

    /// A fresh token for a session, and its lookup key.
    /// - Throws: `TokenError.randomFailure` when the random generator fails.
    static func make(sessionID: TokenID) throws(TokenError) -> (value: String, key: [UInt8]) {
        let id = sessionID.bytes
        let value = Base64URL.encode(id + (try SecureRandom.bytes(32)))
        return (value, id + SHA256.hash(value.utf8))
    }

    /// The lookup key of a presented token; nil when the text cannot be one of ours.
    static func lookupKey(of presented: String) -> [UInt8]? {
        guard presented.utf8.count == textLength, let bytes = try? Base64URL.decode(presented), bytes.count == 48 else {
            return nil
        }
        return Array(bytes[0..<16]) + SHA256.hash(presented.utf8)
    }
}

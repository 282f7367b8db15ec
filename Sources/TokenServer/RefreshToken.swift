import TokenCore

/// The form of refresh tokens: base64url of the session's 16-byte id followed by 32 random bytes
/// (64 characters, 256 secret bits).
///
/// The store knows a token only by its session and its lookup key: the session id's bytes followed
/// by SHA-256 of the whole token, from which the token's value can never be recovered. The session
/// id inside the token lets the store find a session's current token through the session itself.
enum RefreshToken {
    /// Length of a token's text.
    static let textLength = 64

    /// A fresh token for a session, and its lookup key.
    /// - Throws: `TokenError.randomFailure` when the random generator fails.
    static func make(sessionID: TokenID) throws(TokenError) -> (value: String, key: [UInt8]) {
        var bytes = [UInt8](repeating: 0, count: 48)
        let id = sessionID.bytes
        try bytes.withUnsafeMutableBufferPointer { (buffer: inout UnsafeMutableBufferPointer<UInt8>) throws(TokenError) in
            _ = buffer.update(fromContentsOf: id)
            try SecureRandom.fill(UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[id.count...])))
        }
        let value = Base64URL.encode(bytes)
        // The same array becomes the lookup key: the id stays, the secret gives way to the hash.
        bytes.replaceSubrange(id.count..., with: SHA256.hash(value.utf8))
        return (value, bytes)
    }

    /// The session a presented token names, and the token's lookup key; nil when the text cannot
    /// be one of ours.
    static func lookupKey(of presented: String) -> (sessionID: TokenID, key: [UInt8])? {
        guard presented.utf8.count == textLength, let bytes = try? Base64URL.decode(presented), bytes.count == 48
        else {
            return nil
        }
        let idBytes = Array(bytes[0..<16])
        guard let sessionID = TokenID(bytes: idBytes) else { return nil }
        return (sessionID, idBytes + SHA256.hash(presented.utf8))
    }
}

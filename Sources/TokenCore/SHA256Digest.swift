import COpenSSL

/// A SHA-256 digest held as four words: a fixed-size key that binds every byte of what it digests,
/// for tables that cannot keep the text itself (the validator's verified-token cache).
public struct SHA256Digest: Sendable, Hashable {
    /// The digest's bytes 0–7, 8–15, 16–23 and 24–31, each read as a little-endian word.
    public let words: (UInt64, UInt64, UInt64, UInt64)

    /// Digests the UTF-8 bytes of `text`.
    /// - Parameter text: The text, e.g. a token as presented.
    public init(of text: String) {
        if let digest = text.utf8.withContiguousStorageIfAvailable({ Self(digesting: $0) }) {
            self = digest
        } else {
            var contiguous = text
            self = contiguous.withUTF8 { Self(digesting: $0) }
        }
    }

    private init(digesting bytes: UnsafeBufferPointer<UInt8>) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { digest in
            COpenSSL_SHA256(bytes.baseAddress, bytes.count, digest.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        self.words = (
            UInt64(littleEndian: words.0), UInt64(littleEndian: words.1), UInt64(littleEndian: words.2),
            UInt64(littleEndian: words.3)
        )
    }

    public static func == (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

import Synchronization

/// Orders the time-ordered ids made within one millisecond.
private let orderingCounter = Atomic<UInt16>(0)

/// A 128-bit identifier, written as 22 characters of base64url (a token's `jti`, a `sid`).
/// Kept as two integers, so sets of them are compact and fast.
public struct TokenID: Sendable, Hashable, CustomStringConvertible {
    /// The length of the text form.
    public static let textLength = 22

    private let high: UInt64
    private let low: UInt64

    /// Creates an id from its 16 bytes.
    /// - Parameter bytes: Exactly 16 bytes.
    /// - Returns: nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Reads the text form.
    /// - Parameter text: 22 characters of canonical base64url.
    /// - Returns: nil when `text` is not the text form of 16 bytes.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == Self.textLength, let bytes = Base64URL.decode(Array(text.utf8)[...]) else {
            return nil
        }
        self.init(bytes: bytes)
    }

    /// A fresh id of 128 random bits.
    /// - Throws: `TokenError.randomFailure` when the random generator fails.
    public static func random() throws(TokenError) -> TokenID {
        var words: (high: UInt64, low: UInt64) = (0, 0)
        try SecureRandom.fill(&words)
        return TokenID(high: words.high, low: words.low)
    }

    /// A fresh identifier that sorts after the ones made before it (as UUIDv7 does): 48 bits of
    /// time in milliseconds, a 16-bit counter that orders the ids of one millisecond, then 64 random
    /// bits. A store keyed by such ids appends instead of touching pages all over its indexes.
    /// Unique, but partly guessable: use it for session ids, never for secrets (`jti` uses
    /// `random()`).
    /// - Parameter unixMilliseconds: The current time in milliseconds since 1970.
    /// - Throws: `TokenError.randomFailure` when the random generator fails.
    public static func timeOrdered(unixMilliseconds: Int64) throws(TokenError) -> TokenID {
        let time = UInt64(clamping: unixMilliseconds) & 0xFFFF_FFFF_FFFF
        let counter = UInt64(orderingCounter.wrappingAdd(1, ordering: .relaxed).newValue)
        let high = time << 16 | counter
        var low: UInt64 = 0
        try SecureRandom.fill(&low)
        return TokenID(high: high, low: low)
    }

    /// Creates an id from its two halves, as `halves` gives them.
    /// - Parameters:
    ///   - high: Bytes 0–7, big-endian.
    ///   - low: Bytes 8–15, big-endian.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The id as two words: bytes 0–7 and 8–15, big-endian (for tables of fixed-size words).
    public var halves: (high: UInt64, low: UInt64) {
        (high, low)
    }

    /// The 16 bytes, big-endian.
    public var bytes: [UInt8] {
        withBigEndianBytes { Array($0) }
    }

    /// The 22-character base64url text.
    public var text: String {
        withBigEndianBytes { Base64URL.encode($0) }
    }

    private func withBigEndianBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { raw in
            body(raw.assumingMemoryBound(to: UInt8.self))
        }
    }

    public var description: String {
        text
    }
}

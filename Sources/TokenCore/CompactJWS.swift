/// A JWS in compact serialization (RFC 7515 §7.1), parsed strictly: three segments of canonical
/// base64url without padding or whitespace, at most `maxLength` bytes, a header that is a JSON
/// object with a string `alg` and no `crit`.
public struct CompactJWS: Sendable {
    /// The longest token accepted, in bytes (8 KiB).
    public static let maxLength = 8192

    /// The protected header.
    public let header: JSONObject
    /// The decoded payload.
    public let payload: [UInt8]
    /// The decoded signature.
    public let signature: [UInt8]
    /// The header's `alg`.
    public let algorithmName: String
    /// The ASCII bytes `header.payload` that the signature covers.
    private let signingInput: ArraySlice<UInt8>

    /// Parses a compact JWS.
    /// - Parameter token: The token text.
    /// - Throws: `TokenError.malformedToken` with the rule it breaks.
    public init(parsing token: String) throws(TokenError) {
        guard token.utf8.count <= Self.maxLength else { throw .malformedToken("longer than \(Self.maxLength) bytes") }
        let bytes = Array(token.utf8)
        var dots = (first: -1, second: -1)
        for (position, byte) in bytes.enumerated() where byte == UInt8(ascii: ".") {
            if dots.first < 0 {
                dots.first = position
            } else if dots.second < 0 {
                dots.second = position
            } else {
                throw .malformedToken("not three segments")
            }
        }
        let (firstDot, secondDot) = dots
        guard secondDot > 0 else { throw .malformedToken("not three segments") }
        guard let headerBytes = Base64URL.decode(bytes[..<firstDot]),
            let payload = Base64URL.decode(bytes[(firstDot + 1)..<secondDot]),
            let signature = Base64URL.decode(bytes[(secondDot + 1)...])
        else {
            throw .malformedToken("a segment is not canonical base64url")
        }
        guard let header = JSONParser.parseObject(headerBytes[...]) else {
            throw .malformedToken("header is not a JSON object")
        }
        guard let algorithmName = header["alg"]?.stringValue else { throw .malformedToken("header without alg") }
        guard header["crit"] == nil else { throw .malformedToken("critical header extensions are not supported") }
        self.header = header
        self.payload = payload
        self.signature = signature
        self.algorithmName = algorithmName
        self.signingInput = bytes[..<secondDot]
    }

    /// Whether `key` signed this JWS: the header's `alg` must be the key's algorithm, and the
    /// signature must verify over the signing input.
    /// - Parameter key: The public key.
    /// - Returns: True only for a valid signature by `key` under its own algorithm.
    public func isSigned(by key: VerificationKey) -> Bool {
        guard algorithmName == key.algorithm.rawValue else { return false }
        return key.evpKey.verify(signature: signature, message: signingInput)
    }
}

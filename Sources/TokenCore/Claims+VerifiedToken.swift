extension Claims {
    /// The claims of a token whose signature was verified before (a cached verification): the payload
    /// segment decoded and read, without checking the signature again.
    /// - Parameter token: The compact JWS, exactly as verified.
    /// - Returns: nil when the token has no readable payload (never for a token that verified).
    public init?(payloadOf token: String) {
        let bytes = Array(token.utf8)
        guard bytes.count <= CompactJWS.maxLength,
            let firstDot = bytes.firstIndex(of: UInt8(ascii: ".")),
            let secondDot = bytes[(firstDot + 1)...].firstIndex(of: UInt8(ascii: ".")),
            let payload = Base64URL.decode(bytes[(firstDot + 1)..<secondDot])
        else {
            return nil
        }
        self.init(jwtPayload: payload[...])
    }
}

extension CompactJWS {
    /// The `kid` of a token whose signature was verified before (a cached verification): the header
    /// segment decoded and read, without checking the signature again.
    /// - Parameter token: The compact JWS, exactly as verified.
    /// - Returns: nil when the token has no readable header or no `kid` (never for a token that
    ///   verified).
    public static func keyID(of token: String) -> String? {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxLength, let firstDot = bytes.firstIndex(of: UInt8(ascii: ".")),
            let header = Base64URL.decode(bytes[..<firstDot])
        else {
            return nil
        }
        return JSONParser.parseObject(header[...])?["kid"]?.stringValue
    }
}

/// Base64url without padding (RFC 4648 §5, as JOSE uses it), strict: no padding, no whitespace,
/// no characters outside the alphabet, and unused trailing bits must be zero, so every byte string
/// has exactly one encoding.
public enum Base64URL {
    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let standardAlphabet = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8
    )
    private static let invalid: UInt8 = 0xFF
    private static let urlTable = table(for: urlAlphabet)
    private static let standardTable = table(for: standardAlphabet)

    private static func table(for alphabet: [UInt8]) -> [UInt8] {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, character) in alphabet.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }

    /// Encodes bytes.
    /// - Parameter bytes: The bytes.
    /// - Returns: Their base64url text without padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        bytes.withContiguousStorageIfAvailable(encodeText) ?? Array(bytes).withUnsafeBufferPointer(encodeText)
    }

    /// Decodes strict base64url text.
    /// - Parameter text: Base64url without padding.
    /// - Returns: The bytes.
    /// - Throws: `TokenError.malformedToken` when the text is not the canonical encoding of any bytes.
    public static func decode(_ text: String) throws(TokenError) -> [UInt8] {
        guard let bytes = decode(Array(text.utf8)[...]) else {
            throw .malformedToken("invalid base64url")
        }
        return bytes
    }

    /// The length of the unpadded encoding of `count` bytes.
    static func encodedLength(_ count: Int) -> Int {
        (count / 3) * 4 + [0, 2, 3][count % 3]
    }

    /// Appends the unpadded base64url encoding of `bytes` to `out`.
    static func append(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        encode(bytes, alphabet: urlAlphabet, pad: false, to: &out)
    }

    /// Decodes strict unpadded base64url; nil when invalid.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        decode(text, table: urlTable, padded: false)
    }

    /// Standard base64 with padding (for PEM bodies).
    static func encodeStandard(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        encode(bytes, alphabet: standardAlphabet, pad: true, to: &out)
        return out
    }

    /// Decodes strict padded standard base64; nil when invalid.
    static func decodeStandard(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        decode(text, table: standardTable, padded: true)
    }

    private static func encodeText(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: encodedLength(bytes.count)) { out in
            encode(bytes, alphabet: urlAlphabet, pad: false, into: out)
        }
    }

    private static func encode(
        _ input: some Collection<UInt8>,
        alphabet: [UInt8],
        pad: Bool,
        to out: inout [UInt8]
    ) {
        func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            let start = out.count
            let length = pad ? (bytes.count + 2) / 3 * 4 : encodedLength(bytes.count)
            out.append(contentsOf: repeatElement(0, count: length))
            out.withUnsafeMutableBufferPointer { buffer in
                let tail = UnsafeMutableBufferPointer(rebasing: buffer[start...])
                _ = encode(bytes, alphabet: alphabet, pad: pad, into: tail)
            }
        }
        if input.withContiguousStorageIfAvailable(append) == nil {
            Array(input).withUnsafeBufferPointer(append)
        }
    }

    /// Writes the encoding of `bytes` to the start of `out`, which has room for it.
    /// - Returns: The number of bytes written.
    private static func encode(
        _ bytes: UnsafeBufferPointer<UInt8>,
        alphabet: [UInt8],
        pad: Bool,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        alphabet.withUnsafeBufferPointer { alphabet in
            let wholeGroups = bytes.count / 3
            let remaining = bytes.count - wholeGroups * 3
            var position = 0
            for group in 0..<wholeGroups {
                let index = group * 3
                let value = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
                out[position] = alphabet[value >> 18 & 0x3F]
                out[position + 1] = alphabet[value >> 12 & 0x3F]
                out[position + 2] = alphabet[value >> 6 & 0x3F]
                out[position + 3] = alphabet[value & 0x3F]
                position += 4
            }
            guard remaining > 0 else { return position }
            let index = wholeGroups * 3
            let value = Int(bytes[index]) << 16 | (remaining == 2 ? Int(bytes[index + 1]) << 8 : 0)
            out[position] = alphabet[value >> 18 & 0x3F]
            out[position + 1] = alphabet[value >> 12 & 0x3F]
            position += 2
            if remaining == 2 {
                out[position] = alphabet[value >> 6 & 0x3F]
                position += 1
            }
            if pad {
                for _ in remaining..<3 {
                    out[position] = UInt8(ascii: "=")
                    position += 1
                }
            }
            return position
        }
    }

    private static func decode(_ input: ArraySlice<UInt8>, table: [UInt8], padded: Bool) -> [UInt8]? {
        var text = input
        if padded {
            guard text.count % 4 == 0 else { return nil }
            if text.last == UInt8(ascii: "=") { text = text.dropLast() }
            if text.last == UInt8(ascii: "=") { text = text.dropLast() }
        }
        let remainder = text.count % 4
        guard remainder != 1 else { return nil }
        let wholeGroups = text.count / 4
        var out = [UInt8](repeating: 0, count: wholeGroups * 3 + max(0, remainder - 1))
        var index = text.startIndex
        var position = 0
        for _ in 0..<wholeGroups {
            let a = table[Int(text[index])]
            let b = table[Int(text[index + 1])]
            let c = table[Int(text[index + 2])]
            let d = table[Int(text[index + 3])]
            // Valid values are below 64; `invalid` (0xFF) has the top bits set.
            guard (a | b | c | d) & 0xC0 == 0 else { return nil }
            let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            out[position] = UInt8(truncatingIfNeeded: value >> 16)
            out[position + 1] = UInt8(truncatingIfNeeded: value >> 8)
            out[position + 2] = UInt8(truncatingIfNeeded: value)
            index += 4
            position += 3
        }
        if remainder >= 2 {
            let a = table[Int(text[index])]
            let b = table[Int(text[index + 1])]
            let c = remainder == 3 ? table[Int(text[index + 2])] : 0
            guard (a | b | c) & 0xC0 == 0 else { return nil }
            // Canonical form: the bits after the last whole byte must be zero.
            guard remainder == 3 ? c & 0x03 == 0 : b & 0x0F == 0 else { return nil }
            let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
            out[position] = UInt8(truncatingIfNeeded: value >> 16)
            if remainder == 3 { out[position + 1] = UInt8(truncatingIfNeeded: value >> 8) }
        }
        return out
    }
}

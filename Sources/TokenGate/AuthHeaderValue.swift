/// A claim as the value of an `X-Auth-*` header: the text as it is when it is printable ASCII,
/// else with `%`, control characters, bytes outside ASCII (UTF-8) and leading or trailing spaces
/// percent-encoded. A header value never carries a line break, so a claim cannot add a header.
enum AuthHeaderValue {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// The header value of `text`.
    static func encode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.contains(where: needsEncoding) || bytes.first == 0x20 || bytes.last == 0x20 else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3)
        for (index, byte) in bytes.enumerated() {
            let edgeSpace = byte == 0x20 && (index == 0 || index == bytes.count - 1)
            if needsEncoding(byte) || edgeSpace {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func needsEncoding(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "%")
    }
}

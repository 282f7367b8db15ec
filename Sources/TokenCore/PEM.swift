/// PEM armour (RFC 7468, strict form) for DER keys.
enum PEM {
    /// The longest PEM text accepted.
    static let maxLength = 16_384

    /// Wraps DER in `-----BEGIN label-----` lines, base64 in 64-column lines.
    static func encode(_ der: [UInt8], label: String) -> String {
        let body = Base64URL.encodeStandard(der)
        var text = "-----BEGIN \(label)-----\n"
        var start = 0
        while start < body.count {
            let end = min(start + 64, body.count)
            text += String(decoding: body[start..<end], as: UTF8.self) + "\n"
            start = end
        }
        return text + "-----END \(label)-----\n"
    }

    /// Unwraps PEM text holding exactly one block with `label`.
    static func decode(_ text: String, label: String) throws(TokenError) -> [UInt8] {
        guard text.utf8.count <= maxLength else { throw .invalidKey("PEM text too long") }
        let lines = text.split(omittingEmptySubsequences: true) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
            .map { $0.trimmingSpaces() }
            .filter { !$0.isEmpty }
        guard lines.count >= 3, lines.first == "-----BEGIN \(label)-----", lines.last == "-----END \(label)-----" else {
            throw .invalidKey("not a PEM \(label) block")
        }
        let body = lines.dropFirst().dropLast().joined()
        guard let der = Base64URL.decodeStandard(Array(body.utf8)[...]), !der.isEmpty else {
            throw .invalidKey("invalid base64 in PEM")
        }
        return der
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

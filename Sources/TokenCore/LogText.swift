/// Untrusted text made fit for a log: a method name, a path or a reason that came from a client.
///
/// Escaped, it cannot end the log line or start a forged one (line breaks, control and format
/// characters such as bidirectional overrides become `\n`, `\u{202E}` and the like); truncated, it
/// cannot flood the log. Readable text stays as it is: letters of any script, digits, punctuation
/// and spaces.
public enum LogText {
    /// The default bound of `escaped(_:maxBytes:)`, in UTF-8 bytes of escaped text.
    public static let defaultMaxBytes = 128

    /// `text` escaped and, when its escaped form is longer than `maxBytes` UTF-8 bytes, cut at a
    /// character boundary and marked with the length of the whole, e.g. `abc...(65536 bytes)`.
    /// - Parameters:
    ///   - text: the untrusted text.
    ///   - maxBytes: the most UTF-8 bytes of escaped text kept (the mark comes on top).
    /// - Returns: text without control, format or line-breaking characters; a backslash is doubled.
    public static func escaped(_ text: some StringProtocol, maxBytes: Int = defaultMaxBytes) -> String {
        var result = ""
        var kept = 0
        for scalar in text.unicodeScalars {
            let piece = escape(scalar)
            kept += piece.utf8.count
            guard kept <= maxBytes else {
                return result + "...(\(text.utf8.count) bytes)"
            }
            result += piece
        }
        return result
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\\": return "\\\\"
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default: break
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        default:
            return String(scalar)
        }
    }
}

import Foundation
import Logging

/// Writes one JSON object per event to standard error, for log shippers:
/// `{"time":"…","level":"info","label":"tokend","message":"…","source":"…", …metadata}`.
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() {
            fields.merge(provided) { _, new in new }
        }
        if let extra = event.metadata {
            fields.merge(extra) { _, new in new }
        }
        var line = "{\"time\":" + Self.quoted(Self.timestamp())
        line += ",\"level\":" + Self.quoted(event.level.rawValue)
        line += ",\"label\":" + Self.quoted(label)
        line += ",\"message\":" + Self.quoted(event.message.description)
        for key in fields.keys.sorted() where !["time", "level", "label", "message"].contains(key) {
            if let value = fields[key] {
                line += "," + Self.quoted(key) + ":" + Self.quoted(value.description)
            }
        }
        line += "}\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// The time in UTC, RFC 3339 with milliseconds.
    private static func timestamp() -> String {
        Date.now.ISO8601Format(.init(includingFractionalSeconds: true))
    }

    /// A JSON string literal for `text`.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

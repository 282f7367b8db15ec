/// A JSON value (RFC 8259) as the engine's strict parser reads it.
///
/// Numbers keep their exact text, so a value re-serializes unchanged; objects keep member order.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as its JSON text (for instance `-12`, `1.5e3`); it must be valid JSON number text.
    case number(String)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object(JSONObject)

    /// The largest text `init(parsing:)` accepts, in bytes.
    public static let maxInputBytes = 65_536

    /// Parses strict JSON text: one value, optional surrounding whitespace, no duplicate member
    /// names, valid UTF-8, nesting at most 32 deep.
    /// - Parameter text: The JSON text, at most `maxInputBytes` bytes.
    /// - Throws: `TokenError.invalidJSON` with the reason.
    public init(parsing text: String) throws(TokenError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maxInputBytes else {
            throw .invalidJSON("text of \(bytes.count) bytes exceeds \(Self.maxInputBytes)")
        }
        guard let value = JSONParser.parse(bytes[...]) else {
            throw .invalidJSON("not strict JSON")
        }
        self = value
    }

    /// Parses text that must be a JSON object.
    /// - Parameter text: The JSON text.
    /// - Returns: The object.
    /// - Throws: `TokenError.invalidJSON` when the text is not strict JSON or not an object.
    public static func parseObject(_ text: String) throws(TokenError) -> JSONObject {
        guard case .object(let object) = try JSONValue(parsing: text) else {
            throw .invalidJSON("not a JSON object")
        }
        return object
    }

    /// The value as compact JSON text.
    public var jsonText: String {
        var out: [UInt8] = []
        append(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The compact JSON text of an array of strings, written without building values first.
    public static func arrayText(of strings: [String]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(2 + strings.reduce(0) { $0 + $1.utf8.count + 3 })
        out.append(UInt8(ascii: "["))
        for (index, string) in strings.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(string, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The compact JSON text of an object of string members, names sorted, written without building
    /// values first.
    public static func objectText(of members: [String: String]) -> String {
        guard !members.isEmpty else { return "{}" }
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(member.key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONWriter.appendString(member.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The string, when the value is one.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The number as a 64-bit integer, when it is an integer in range written without fraction
    /// or exponent.
    public var int64Value: Int64? {
        guard case .number(let text) = self else { return nil }
        return Int64(text)
    }

    /// Appends the compact JSON text of the value.
    func append(to out: inout [UInt8]) {
        switch self {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let text):
            out.append(contentsOf: text.utf8)
        case .string(let string):
            JSONWriter.appendString(string, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.append(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            object.append(to: &out)
        }
    }
}

/// A strict RFC 8259 parser over bytes. Every read is bounds-checked; nesting is limited so hostile
/// input cannot exhaust the stack.
struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    static let maxDepth = 32
    /// Objects up to this many members check for duplicate names without hashing.
    private static let linearNameCheckLimit = 16

    private let bytes: ArraySlice<UInt8>
    private var index: Int
    private var depth = 0
    /// Members read so far by `nextMember()`.
    private var membersRead = 0

    private init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    /// Parses exactly one JSON value (whitespace around it allowed); nil when the bytes are not
    /// strict JSON.
    static func parse(_ bytes: ArraySlice<UInt8>) -> JSONValue? {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        guard let value = parser.parseValue() else { return nil }
        parser.skipWhitespace()
        guard parser.index == bytes.endIndex else { return nil }
        return value
    }

    /// Parses bytes that must hold one JSON object (no surrounding whitespace is needed by JOSE,
    /// but it is allowed as RFC 8259 allows it).
    static func parseObject(_ bytes: ArraySlice<UInt8>) -> JSONObject? {
        guard case .object(let object) = parse(bytes) else { return nil }
        return object
    }

    private var current: UInt8? {
        index < bytes.endIndex ? bytes[index] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            index += 1
        }
    }

    private mutating func consume(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.endIndex - index >= count else { return false }
        let matches = literal.withUTF8Buffer { expected in
            expected.elementsEqual(bytes[index..<(index + count)])
        }
        if matches { index += count }
        return matches
    }

    private mutating func parseValue() -> JSONValue? {
        guard let byte = current else { return nil }
        switch byte {
        case UInt8(ascii: "{"):
            return parseObjectValue()
        case UInt8(ascii: "["):
            return parseArray()
        case UInt8(ascii: "\""):
            return parseString().map(JSONValue.string)
        case UInt8(ascii: "t"):
            return consume("true") ? .bool(true) : nil
        case UInt8(ascii: "f"):
            return consume("false") ? .bool(false) : nil
        case UInt8(ascii: "n"):
            return consume("null") ? .null : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return parseNumber()
        default:
            return nil
        }
    }

    private mutating func parseObjectValue() -> JSONValue? {
        guard depth < Self.maxDepth else { return nil }
        depth += 1
        defer { depth -= 1 }
        index += 1  // "{"
        var members: [JSONObject.Member] = []
        members.reserveCapacity(12)
        // Small objects (every JOSE header and claim set) check names by a linear scan; larger ones
        // switch to a set, so hostile objects with thousands of members stay linear in time.
        var names: Set<String>?
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject(uniqueMembers: members))
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\""), let name = parseString() else { return nil }
            if names == nil, members.count >= Self.linearNameCheckLimit {
                names = Set(members.map(\.name))
            }
            if names != nil {
                guard names?.insert(name).inserted == true else { return nil }
            } else {
                guard !members.contains(where: { $0.name == name }) else { return nil }
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { return nil }
            index += 1
            skipWhitespace()
            guard let value = parseValue() else { return nil }
            members.append(JSONObject.Member(name: name, value: value))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(JSONObject(uniqueMembers: members))
            default:
                return nil
            }
        }
    }

    private mutating func parseArray() -> JSONValue? {
        guard depth < Self.maxDepth else { return nil }
        depth += 1
        defer { depth -= 1 }
        index += 1  // "["
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            guard let value = parseValue() else { return nil }
            elements.append(value)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default:
                return nil
            }
        }
    }

    private mutating func parseNumber() -> JSONValue? {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current else { return nil }
        if first == UInt8(ascii: "0") {
            index += 1
        } else if isDigit(first) {
            skipDigits()
        } else {
            return nil
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard let digit = current, isDigit(digit) else { return nil }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let digit = current, isDigit(digit) else { return nil }
            skipDigits()
        }
        return .number(String(decoding: bytes[start..<index], as: UTF8.self))
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { index += 1 }
    }

    /// Parses a string literal starting at its opening quote.
    private mutating func parseString() -> String? {
        guard let (utf8, isASCII) = parseStringBytes() else { return nil }
        return Self.makeString(utf8, isASCII: isASCII)
    }

    /// Parses a string literal starting at its opening quote into its unescaped UTF-8 bytes (not yet
    /// checked to be valid UTF-8 unless `isASCII`).
    private mutating func parseStringBytes() -> (utf8: ArraySlice<UInt8>, isASCII: Bool)? {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes, the bytes are a slice of the input.
        var isASCII = true
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { return nil }
            if byte >= 0x80 { isASCII = false }
            index += 1
        }
        guard let stop = current else { return nil }
        if stop == UInt8(ascii: "\"") {
            index += 1
            return (bytes[start..<(index - 1)], isASCII)
        }
        var decoded = Array(bytes[start..<index])
        while let byte = current {
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return (decoded[...], false)
            case UInt8(ascii: "\\"):
                index += 1
                guard appendEscape(to: &decoded) else { return nil }
            case 0..<0x20:
                return nil
            default:
                decoded.append(byte)
                index += 1
            }
        }
        return nil
    }

    /// A string from UTF-8 bytes; nil when they are not valid UTF-8. ASCII, the common case, needs
    /// no validation.
    private static func makeString(_ utf8: ArraySlice<UInt8>, isASCII: Bool) -> String? {
        if isASCII { return String(decoding: utf8, as: UTF8.self) }
        return String(validating: utf8, as: UTF8.self)
    }

    /// Decodes the escape after a backslash into UTF-8.
    private mutating func appendEscape(to out: inout [UInt8]) -> Bool {
        guard let byte = current else { return false }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            guard let unit = parseHex4() else { return false }
            var scalarValue = UInt32(unit)
            if (0xD800..<0xDC00).contains(unit) {
                guard consume("\\u"), let low = parseHex4(), (0xDC00..<0xE000).contains(low) else { return false }
                scalarValue = 0x10000 + (UInt32(unit - 0xD800) << 10) + UInt32(low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(unit) {
                return false
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { return false }
            out.append(contentsOf: String(Character(scalar)).utf8)
        default:
            return false
        }
        return true
    }

    private mutating func parseHex4() -> UInt16? {
        guard bytes.endIndex - index >= 4 else { return nil }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    // MARK: Reading one object member by member

    /// One step of `nextMember()`.
    enum MemberStep {
        /// The next member's name, unescaped UTF-8 (validated); its value must be read next.
        case name(ArraySlice<UInt8>)
        /// The closing brace, with nothing but whitespace after it.
        case end
        /// The bytes are not strict JSON.
        case invalid
    }

    /// A parser positioned inside the object that must make up all of `bytes`, to read it member by
    /// member without building a tree (the verifier's claims path); nil when `bytes` do not start
    /// with `{`. Call `nextMember()`, then read the value with `readValue()`, `readString()` or
    /// `readInt64()`, until `nextMember()` returns `.end`. Duplicate names are the caller's to check.
    static func objectReader(_ bytes: ArraySlice<UInt8>) -> JSONParser? {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        guard parser.current == UInt8(ascii: "{") else { return nil }
        parser.index += 1
        parser.depth = 1
        return parser
    }

    /// Advances to the next member of the object opened by `objectReader(_:)`.
    mutating func nextMember() -> MemberStep {
        skipWhitespace()
        if membersRead > 0 {
            switch current {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                return finishObject()
            default:
                return .invalid
            }
        } else if current == UInt8(ascii: "}") {
            return finishObject()
        }
        guard current == UInt8(ascii: "\""), let (name, isASCII) = parseStringBytes() else { return .invalid }
        guard isASCII || String(validating: name, as: UTF8.self) != nil else { return .invalid }
        skipWhitespace()
        guard current == UInt8(ascii: ":") else { return .invalid }
        index += 1
        skipWhitespace()
        membersRead += 1
        return .name(name)
    }

    /// Reads any value.
    mutating func readValue() -> JSONValue? {
        parseValue()
    }

    /// Reads a value that must be a string.
    mutating func readString() -> String? {
        guard current == UInt8(ascii: "\"") else { return nil }
        return parseString()
    }

    /// Reads a value that must be an integer in Int64's range, without fraction or exponent.
    mutating func readInt64() -> Int64? {
        let negative = current == UInt8(ascii: "-")
        if negative { index += 1 }
        let firstDigit = index
        var value: Int64 = 0
        while let byte = current, isDigit(byte) {
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, carry) =
                negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow, !carry else { return nil }
            value = next
            index += 1
        }
        let digits = index - firstDigit
        // At least one digit, and no leading zero ("0" and "-0" are fine, "01" is not JSON).
        guard digits > 0, bytes[firstDigit] != UInt8(ascii: "0") || digits == 1 else { return nil }
        // A fraction or exponent makes the number no integer.
        if let stop = current, stop == UInt8(ascii: ".") || stop == UInt8(ascii: "e") || stop == UInt8(ascii: "E") {
            return nil
        }
        return value
    }

    private mutating func finishObject() -> MemberStep {
        index += 1  // "}"
        skipWhitespace()
        return index == bytes.endIndex ? .end : .invalid
    }
}

import NIOCore
import TokenCore

/// The fields of an `application/x-www-form-urlencoded` body or query string, in order: `+` is a
/// space and `%XX` a byte, and the result must be UTF-8. Unlike browsers, it refuses a `%` that is
/// not followed by two hex digits rather than keep it.
public struct HTTPForm: Sendable, Hashable {
    /// The most fields one form may hold.
    public static let maxFields = 64

    /// The fields, names and values decoded, in order.
    public let fields: [Field]

    /// One `name=value` pair.
    public struct Field: Sendable, Hashable {
        /// The decoded name.
        public var name: String
        /// The decoded value ("" for a pair without `=`).
        public var value: String
    }

    /// Parses encoded text (a body, or a query without its `?`).
    /// - Parameter text: the encoded form.
    /// - Throws: `HTTPFormError` for a bad escape, a field that is not UTF-8, or more than
    ///   `maxFields` fields.
    public init(parsing text: some Collection<UInt8>) throws(HTTPFormError) {
        var fields: [Field] = []
        for pair in text.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard fields.count < Self.maxFields else { throw HTTPFormError("more than \(Self.maxFields) fields") }
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let name = try Self.decode(pair[..<(equals ?? pair.endIndex)])
            var value = ""
            if let equals {
                value = try Self.decode(pair[pair.index(after: equals)...])
            }
            fields.append(Field(name: name, value: value))
        }
        self.fields = fields
    }

    /// Parses a body.
    /// - Parameter body: the encoded form.
    /// - Throws: `HTTPFormError` as `init(parsing:)`.
    public init(body: ByteBuffer) throws(HTTPFormError) {
        try self.init(parsing: body.readableBytesView)
    }

    /// The value of the field `name`.
    /// - Parameter name: the field's name.
    /// - Returns: its value, nil when the form has no such field.
    /// - Throws: `HTTPFormError` when the field appears more than once (RFC 6749 §3.2 forbids that
    ///   for OAuth parameters; elsewhere it means the form was not what the caller expects).
    public func value(of name: String) throws(HTTPFormError) -> String? {
        var found: String?
        for field in fields where field.name == name {
            guard found == nil else { throw HTTPFormError("\(name) appears more than once") }
            found = field.value
        }
        return found
    }

    /// Decodes one component: `+` is a space, `%XX` a byte.
    /// - Parameter component: the encoded bytes.
    /// - Returns: the text.
    /// - Throws: `HTTPFormError` for a bad escape or bytes that are not UTF-8.
    public static func decode(_ component: some Collection<UInt8>) throws(HTTPFormError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(component.count)
        var index = component.startIndex
        while index != component.endIndex {
            let byte = component[index]
            index = component.index(after: index)
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard index != component.endIndex, let high = Hex.value(of: component[index]) else {
                    throw HTTPFormError("a % is not followed by two hex digits")
                }
                index = component.index(after: index)
                guard index != component.endIndex, let low = Hex.value(of: component[index]) else {
                    throw HTTPFormError("a % is not followed by two hex digits")
                }
                index = component.index(after: index)
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw HTTPFormError("a field is not UTF-8")
        }
        return text
    }
}

/// A form that does not parse, or not as the caller expects.
public struct HTTPFormError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong (never the field's value).
    public let reason: String

    init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

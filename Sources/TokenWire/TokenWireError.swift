/// An error decoding or encoding bytes of the wire contract.
///
/// Opaque so that cases can be added without breaking callers; compare with the static members.
public struct TokenWireError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case frameTooLarge(length: Int, limit: Int)
        case invalidMessage(type: String)
        case invalidUTF8(type: String)
        case nulInString(type: String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// A frame's length prefix exceeds the configured maximum.
    public static func frameTooLarge(length: Int, limit: Int) -> Self {
        Self(.frameTooLarge(length: length, limit: limit))
    }

    /// The bytes are not a valid serialization of the named message.
    public static func invalidMessage(_ type: String) -> Self {
        Self(.invalidMessage(type: type))
    }

    /// A string field of the named message is not valid UTF-8.
    public static func invalidUTF8(_ type: String) -> Self {
        Self(.invalidUTF8(type: type))
    }

    /// A string field of the named message holds a NUL byte, which protobuf-c's C strings cannot carry.
    public static func nulInString(_ type: String) -> Self {
        Self(.nulInString(type: type))
    }

    /// True when the error is a frame over the size limit.
    public var isFrameTooLarge: Bool {
        if case .frameTooLarge = base { return true }
        return false
    }

    public var description: String {
        switch base {
        case .frameTooLarge(let length, let limit):
            "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .invalidMessage(let type):
            "bytes are not a valid \(type)"
        case .invalidUTF8(let type):
            "a string field of \(type) is not valid UTF-8"
        case .nulInString(let type):
            "a string in \(type) holds a NUL byte"
        }
    }
}

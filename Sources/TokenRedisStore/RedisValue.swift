/// One RESP reply, as hiredis parsed it.
public enum RedisValue: Sendable, Hashable {
    /// A status reply (`+OK`).
    case status(String)
    /// An error reply (`-ERR ...`): the command failed, the connection is fine.
    case error(String)
    /// An integer reply.
    case integer(Int64)
    /// A bulk string.
    case bulk([UInt8])
    /// A null bulk string or null array.
    case null
    /// An array (multi-bulk) reply.
    case array([RedisValue])

    /// The bytes of a bulk or status reply; nil for the others.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): bytes
        case .status(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The text of a bulk or status reply when it is valid UTF-8; nil for the others.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer; nil for the others.
    public var int64: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self).flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array reply; nil for the others.
    public var array: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// True for a null reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

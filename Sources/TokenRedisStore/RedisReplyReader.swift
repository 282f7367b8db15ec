import CHiredis

/// Owns one hiredis `redisReader`: bytes go in, complete replies come out as `RedisValue`s.
///
/// The only file that touches hiredis's reader and reply pointers.
final class RedisReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private let maxElements: Int
    private let maxBytes: Int

    /// - Parameters:
    ///   - maxElements: the most elements one reply may hold, nested ones included (the reader
    ///     refuses more before allocating them).
    ///   - maxBytes: the most bytes one reply may hold: its strings, and what is buffered of it
    ///     unparsed.
    init(maxElements: Int, maxBytes: Int) throws(RedisError) {
        guard let reader = CHiredis_readerCreate(Int64(maxElements), Int64(maxBytes)) else {
            throw .protocolViolation("cannot allocate a reply reader")
        }
        self.reader = reader
        self.maxElements = maxElements
        self.maxBytes = maxBytes
    }

    deinit {
        CHiredis_readerFree(reader)
    }

    /// Bytes fed and not yet part of a complete reply.
    var pendingBytes: Int {
        Int(CHiredis_readerPending(reader))
    }

    /// Feeds bytes received from the server.
    func feed(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        guard redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) == REDIS_OK else {
            throw .protocolViolation(errorText())
        }
    }

    /// The next complete reply, or nil when more bytes are needed.
    /// - Throws: `protocolViolation` when the bytes are not RESP, or a reply (complete or not)
    ///   holds more than `maxElements` elements or `maxBytes` bytes.
    func next() throws(RedisError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            switch CHiredis_readerRefusal(reader) {
            case CHIREDIS_REFUSED_ELEMENTS:
                throw .protocolViolation("a reply holds more than \(maxElements) elements")
            case CHIREDIS_REFUSED_BYTES:
                throw .protocolViolation("a reply is larger than \(maxBytes) bytes")
            default:
                throw .protocolViolation(errorText())
            }
        }
        guard let raw else {
            if pendingBytes > maxBytes - Int(CHiredis_readerReplyBytes(reader)) {
                throw .protocolViolation("a reply is larger than \(maxBytes) bytes")
            }
            return nil
        }
        CHiredis_readerReplyTaken(reader)
        defer { freeReplyObject(raw) }
        return try Self.value(raw.assumingMemoryBound(to: redisReply.self), depth: 0)
    }

    private func errorText() -> String {
        withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            let text = bytes.prefix { $0 != 0 }
            return String(decoding: text, as: UTF8.self)
        }
    }

    private static func value(_ reply: UnsafeMutablePointer<redisReply>, depth: Int) throws(RedisError) -> RedisValue {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(node.str, node.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(node.str, node.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(node.str, node.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(node.integer)
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            guard depth < 8 else { throw .protocolViolation("a reply is nested too deeply") }
            var elements: [RedisValue] = []
            guard node.elements > 0 else { return .array([]) }
            guard let children = node.element else { throw .protocolViolation("an array reply has no elements") }
            elements.reserveCapacity(node.elements)
            for index in 0..<node.elements {
                guard let child = children[index] else { throw .protocolViolation("an array element is missing") }
                elements.append(try value(child, depth: depth + 1))
            }
            return .array(elements)
        default:
            throw .protocolViolation("a reply of unknown type \(node.type)")
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

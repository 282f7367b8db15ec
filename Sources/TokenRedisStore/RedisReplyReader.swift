import CHiredis

/// Owns one hiredis `redisReader`: bytes go in, complete replies come out as `RedisValue`s.
///
/// The only file that touches hiredis's reader and reply pointers.
final class RedisReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private let maxPendingBytes: Int

    /// - Parameters:
    ///   - maxElements: the longest array a reply may hold (hiredis refuses longer ones before
    ///     allocating them).
    ///   - maxPendingBytes: the most bytes one incomplete reply may hold buffered.
    init(maxElements: Int, maxPendingBytes: Int) throws(RedisError) {
        guard let reader = CHiredis_readerCreate(Int32(clamping: maxElements)) else {
            throw .protocolViolation("cannot allocate a reply reader")
        }
        self.reader = reader
        self.maxPendingBytes = maxPendingBytes
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
    /// - Throws: `protocolViolation` when the bytes are not RESP, an array is too long, or an
    ///   incomplete reply holds more than `maxPendingBytes`.
    func next() throws(RedisError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            throw .protocolViolation(errorText())
        }
        guard let raw else {
            if pendingBytes > maxPendingBytes {
                throw .protocolViolation("a reply is larger than \(maxPendingBytes) bytes")
            }
            return nil
        }
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

/// Protobuf's base-128 varint, decoded from any source of bytes.
enum ProtobufVarint {
    /// Reads one varint (at most ten bytes) from the bytes `nextByte` hands out in turn.
    /// - Returns: the value, or nil when `nextByte` runs out first (answers nil) or the varint is
    ///   longer than 64 bits.
    @inline(__always)
    static func read(_ nextByte: () -> UInt8?) -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: UInt64(0), to: 64, by: 7) {
            guard let byte = nextByte() else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
        }
        return nil
    }
}

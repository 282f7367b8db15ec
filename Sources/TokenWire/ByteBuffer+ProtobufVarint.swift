import NIOCore

extension ByteBuffer {
    /// Reads one protobuf base-128 varint (at most ten bytes).
    /// - Returns: the value, or nil when the bytes end first or the varint is longer than 64 bits;
    ///   the reader index has then moved past whatever was read.
    public mutating func readProtobufVarint() -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: UInt64(0), to: 64, by: 7) {
            guard let byte = readInteger(as: UInt8.self) else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
        }
        return nil
    }

    /// Writes `value` as a protobuf base-128 varint.
    public mutating func writeProtobufVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        writeInteger(UInt8(value))
    }
}

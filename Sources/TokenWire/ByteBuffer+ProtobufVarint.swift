import NIOCore

extension ByteBuffer {
    /// Reads one protobuf base-128 varint (at most ten bytes).
    /// - Returns: the value, or nil when the bytes end first or the varint is longer than 64 bits;
    ///   the reader index has then moved past whatever was read.
    public mutating func readProtobufVarint() -> UInt64? {
        ProtobufVarint.read { readInteger(as: UInt8.self) }
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

    /// Writes `value` as a protobuf base-128 varint at `index`, without moving the writer index.
    /// - Returns: the number of bytes written (`protobufVarintLength(value)`).
    @discardableResult
    mutating func setProtobufVarint(_ value: UInt64, at index: Int) -> Int {
        var value = value
        var position = index
        while value >= 0x80 {
            setInteger(UInt8(truncatingIfNeeded: value) | 0x80, at: position)
            value >>= 7
            position += 1
        }
        setInteger(UInt8(value), at: position)
        return position + 1 - index
    }

    /// The number of bytes of `value` as a protobuf varint (1 to 10).
    static func protobufVarintLength(_ value: UInt64) -> Int {
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }
}

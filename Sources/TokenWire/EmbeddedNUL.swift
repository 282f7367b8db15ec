import CProtobufC

/// Finds string fields that hold a NUL byte.
///
/// protobuf-c hands string fields over as C strings, which end at their first NUL byte: a
/// credential `key\0anything` would read as `key`, and two different byte strings as one value.
/// Protobuf allows NUL in strings, so protobuf-c unpacks such bytes without complaint; decoding
/// looks for them first and refuses the message instead.
enum EmbeddedNUL {
    /// Whether a string field of the message in `bytes`, or of a message nested in it, holds a NUL.
    /// Fields unknown to `descriptor` are skipped, as protobuf-c skips them. Walks bytes protobuf-c
    /// has already accepted, yet checks every bound itself.
    static func isPresent(in bytes: UnsafeRawBufferPointer, of descriptor: UnsafePointer<ProtobufCMessageDescriptor>)
        -> Bool
    {
        var cursor = Cursor(bytes: bytes)
        while !cursor.isAtEnd {
            guard let key = cursor.readVarint() else { return false }
            switch key & 0x7 {
            case 0:
                guard cursor.readVarint() != nil else { return false }
            case 1:
                guard cursor.read(8) != nil else { return false }
            case 5:
                guard cursor.read(4) != nil else { return false }
            case 2:
                guard let length = cursor.readVarint(), let value = cursor.read(length) else { return false }
                guard let number = UInt32(exactly: key >> 3),
                    let field = protobuf_c_message_descriptor_get_field(descriptor, number)
                else { continue }
                switch field.pointee.type {
                case PROTOBUF_C_TYPE_STRING:
                    if value.contains(0) { return true }
                case PROTOBUF_C_TYPE_MESSAGE:
                    // The contract has no recursive messages, so nesting ends with the schema.
                    if let nested = field.pointee.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self),
                        isPresent(in: value, of: nested)
                    {
                        return true
                    }
                default:
                    break
                }
            default:
                // Groups are not part of proto3; protobuf-c has refused them already.
                return false
            }
        }
        return false
    }

    /// Reads protobuf's varints and length-delimited values from raw bytes, never past their end.
    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        /// A varint of at most ten bytes; nil when the bytes end first or it is longer.
        mutating func readVarint() -> UInt64? {
            ProtobufVarint.read {
                guard offset < bytes.count else { return nil }
                defer { offset += 1 }
                return bytes[offset]
            }
        }

        /// The next `count` bytes; nil when fewer are left.
        mutating func read(_ count: UInt64) -> UnsafeRawBufferPointer? {
            guard let count = Int(exactly: count), count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        }
    }
}

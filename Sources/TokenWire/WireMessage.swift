import CProtobufC
import NIOCore

/// A message of the wire contract (`proto/token/v1/token.proto`).
///
/// Parsing is bounded by its input (callers cap frame sizes before parsing), validates UTF-8 and
/// enum values, and never crashes on hostile bytes.
public protocol WireMessage: Sendable {
    /// Parses a serialized message.
    /// - Parameter bytes: the protobuf bytes of exactly one message.
    /// - Throws: `TokenWireError` when the bytes are not a valid message of this type.
    init(serializedBytes bytes: UnsafeRawBufferPointer) throws(TokenWireError)

    /// Writes the message's protobuf serialization at the buffer's writer index.
    /// - Parameter buffer: the buffer to append to.
    func serialize(into buffer: inout ByteBuffer)

    /// The size in bytes of the serialization.
    var serializedSize: Int { get }
}

// Inlinable, so that callers in other modules get these specialized for their message type instead
// of looking up generic metadata on every call.
extension WireMessage {
    /// Parses a serialized message held in an array.
    /// - Throws: `TokenWireError` when the bytes are not a valid message of this type.
    @inlinable
    public init(serializedBytes bytes: [UInt8]) throws(TokenWireError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(TokenWireError) -> Self in try Self(serializedBytes: raw) }
        }
        self = try result.get()
    }

    /// Parses the readable bytes of a buffer (without moving its reader index).
    /// - Throws: `TokenWireError` when the bytes are not a valid message of this type.
    @inlinable
    public init(serializedBytes buffer: ByteBuffer) throws(TokenWireError) {
        let result = buffer.withUnsafeReadableBytes { raw in
            Result { () throws(TokenWireError) -> Self in try Self(serializedBytes: raw) }
        }
        self = try result.get()
    }

    /// The message serialized as protobuf bytes.
    @inlinable
    public func serializedBytes() -> [UInt8] {
        // `serialize` reserves the packed size itself; asking `serializedSize` first would build the
        // C message twice.
        var buffer = ByteBuffer()
        serialize(into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

/// Bridges a Swift message to the protobuf-c struct generated for it.
protocol ProtobufCBridged: WireMessage {
    /// The generated C struct, e.g. `Token__V1__RpcRequest`.
    associatedtype CMessage

    /// The proto name, for error messages.
    static var messageName: String { get }

    /// A struct set to its defaults by the generated `…__init` function (which also points it at its
    /// descriptor).
    static func emptyCMessage() -> CMessage

    /// Reads a struct that protobuf-c's unpacker produced.
    init(cMessage: borrowing CMessage) throws(TokenWireError)

    /// A struct whose pointers stay valid while `arena` lives.
    func cMessage(in arena: CArena) -> CMessage
}

extension ProtobufCBridged {
    /// The generated descriptor, read from an initialized struct: the C global's own address.
    static var descriptor: UnsafePointer<ProtobufCMessageDescriptor> {
        var message = emptyCMessage()
        return withUnsafeMutablePointer(to: &message) { base(of: $0).pointee.descriptor }
    }

    public init(serializedBytes bytes: UnsafeRawBufferPointer) throws(TokenWireError) {
        let descriptor = Self.descriptor
        let result = UnpackScratch.withAllocator { allocator in
            Result { () throws(TokenWireError) -> Self in
                guard
                    let unpacked = protobuf_c_message_unpack(
                        descriptor,
                        allocator,
                        bytes.count,
                        bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(emptyInput)
                    )
                else {
                    throw TokenWireError.invalidMessage(Self.messageName)
                }
                defer { protobuf_c_message_free_unpacked(unpacked, allocator) }
                guard !EmbeddedNUL.isPresent(in: bytes, of: descriptor) else {
                    throw TokenWireError.nulInString(Self.messageName)
                }
                let typed = UnsafeRawPointer(unpacked).assumingMemoryBound(to: CMessage.self)
                return try Self(cMessage: typed.pointee)
            }
        }
        self = try result.get()
    }

    public var serializedSize: Int {
        let arena = CArena()
        // The C message points into the arena's memory: the arena must outlive every use of it.
        return withExtendedLifetime(arena) {
            var message = cMessage(in: arena)
            return withUnsafeMutablePointer(to: &message) { pointer in
                protobuf_c_message_get_packed_size(Self.base(of: pointer))
            }
        }
    }

    public func serialize(into buffer: inout ByteBuffer) {
        let arena = CArena()
        // The C message points into the arena's memory: the arena must outlive every use of it.
        withExtendedLifetime(arena) {
            var message = cMessage(in: arena)
            withUnsafeMutablePointer(to: &message) { pointer in
                let base = Self.base(of: pointer)
                let size = protobuf_c_message_get_packed_size(base)
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
                    guard let address = out.baseAddress, size > 0 else { return 0 }
                    return protobuf_c_message_pack(base, address.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
    }

    private static func base(of pointer: UnsafeMutablePointer<CMessage>) -> UnsafeMutablePointer<ProtobufCMessage> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: ProtobufCMessage.self)
    }
}

/// A valid address for unpacking zero bytes (protobuf-c reads nothing from it).
nonisolated(unsafe) private let emptyInput = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

// MARK: - Reading fields of unpacked structs

enum CField {
    /// A string field, validated as UTF-8.
    ///
    /// protobuf-c keeps strings NUL-terminated, so a string holding a NUL character reads (and packs) as
    /// the part before it.
    static func string(_ pointer: UnsafePointer<CChar>?, in type: String) throws(TokenWireError) -> String {
        guard let pointer else { return "" }
        guard let string = String(validatingCString: pointer) else {
            throw TokenWireError.invalidUTF8(type)
        }
        return string
    }

    /// A repeated string field.
    static func strings(
        _ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        count: Int,
        in type: String
    ) throws(TokenWireError) -> [String] {
        guard let array, count > 0 else { return [] }
        var result: [String] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            result.append(try string(array[index], in: type))
        }
        return result
    }

    /// A bytes field.
    static func bytes(_ binary: ProtobufCBinaryData) -> [UInt8] {
        guard let data = binary.data, binary.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: binary.len))
    }

    /// An enum field's number (protobuf enums are open: unknown numbers are kept).
    static func enumValue<Enum: RawRepresentable>(_ value: Enum) -> Int32 where Enum.RawValue: BinaryInteger {
        Int32(truncatingIfNeeded: value.rawValue)
    }

    /// A nested message field (nil when absent).
    static func message<Message: ProtobufCBridged>(
        _ pointer: UnsafeMutablePointer<Message.CMessage>?,
        as type: Message.Type
    ) throws(TokenWireError) -> Message? {
        guard let pointer else { return nil }
        return try Message(cMessage: pointer.pointee)
    }

    /// A repeated message field.
    static func messages<Message: ProtobufCBridged>(
        _ array: UnsafeMutablePointer<UnsafeMutablePointer<Message.CMessage>?>?,
        count: Int,
        as type: Message.Type
    ) throws(TokenWireError) -> [Message] {
        try messages(array, count: count) { (element: borrowing Message.CMessage) throws(TokenWireError) in
            try Message(cMessage: element)
        }
    }

    /// A map field (repeated entries); for a key that occurs more than once the last entry wins.
    static func map<Entry: ProtobufCMapEntry>(
        _ array: UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>?,
        count: Int,
        in type: String
    ) throws(TokenWireError) -> [String: String] {
        guard let array, count > 0 else { return [:] }
        var result: [String: String] = [:]
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let entry = array[index] else { continue }
            result[try string(entry.pointee.key, in: type)] = try string(entry.pointee.value, in: type)
        }
        return result
    }

    /// A repeated message field, each element converted by `convert`.
    static func messages<C, T>(
        _ array: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?,
        count: Int,
        _ convert: (borrowing C) throws(TokenWireError) -> T
    ) throws(TokenWireError) -> [T] {
        guard let array, count > 0 else { return [] }
        var result: [T] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let element = array[index] else { continue }
            result.append(try convert(element.pointee))
        }
        return result
    }
}

import NIOCore
import TokenWire

/// A test message that is just its bytes, so methods can echo and tests can craft payloads.
struct RawBytes: WireMessage, Hashable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    init(_ text: String) {
        self.bytes = Array(text.utf8)
    }

    init(serializedBytes bytes: UnsafeRawBufferPointer) throws(TokenWireError) {
        self.bytes = Array(bytes)
    }

    func serialize(into buffer: inout ByteBuffer) {
        buffer.writeBytes(bytes)
    }

    var serializedSize: Int { bytes.count }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

import CProtobufC

/// Owns the C memory that a protobuf-c struct points into while it is being packed.
///
/// Every pointer handed out stays valid until the arena is deinitialized, which frees all of them
/// exactly once. Used only while one message is packed, never shared across threads.
final class CArena {
    /// Small allocations are carved one after another from blocks of this size; larger ones get
    /// memory of their own. A message's strings and structs then cost a malloc or two, not one each.
    private static let blockSize = 1_024
    private static let blockAlignment = 16

    private var allocations: [UnsafeMutableRawPointer] = []
    private var nextFree: UnsafeMutableRawPointer?
    private var freeBytes = 0

    init() {}

    deinit {
        for pointer in allocations {
            pointer.deallocate()
        }
    }

    /// Uninitialized memory for `byteCount` bytes at `alignment` (a power of two), valid until deinit.
    private func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        if let nextFree {
            let padding = (alignment - Int(bitPattern: nextFree) % alignment) % alignment
            if padding + byteCount <= freeBytes {
                self.nextFree = nextFree + padding + byteCount
                freeBytes -= padding + byteCount
                return nextFree + padding
            }
        }
        guard byteCount <= Self.blockSize / 2, alignment <= Self.blockAlignment else {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: alignment)
            allocations.append(pointer)
            return pointer
        }
        let block = UnsafeMutableRawPointer.allocate(byteCount: Self.blockSize, alignment: Self.blockAlignment)
        allocations.append(block)
        nextFree = block + byteCount
        freeBytes = Self.blockSize - byteCount
        return block
    }

    /// Memory for `count` values of `T`, bound to `T` and uninitialized.
    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        allocate(byteCount: MemoryLayout<T>.stride * count, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: count)
    }

    /// A NUL-terminated copy of `string`; the shared empty string for "".
    func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        if string.isEmpty {
            return emptyCString
        }
        var string = string
        return string.withUTF8 { utf8 in
            let pointer = allocate(CChar.self, count: utf8.count + 1)
            UnsafeMutableRawBufferPointer(start: pointer, count: utf8.count).copyMemory(from: UnsafeRawBufferPointer(utf8))
            (pointer + utf8.count).initialize(to: 0)
            return pointer
        }
    }

    /// A protobuf-c binary field holding a copy of `bytes`.
    func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else {
            return ProtobufCBinaryData(len: 0, data: nil)
        }
        let pointer = allocate(UInt8.self, count: bytes.count)
        pointer.initialize(from: bytes, count: bytes.count)
        return ProtobufCBinaryData(len: bytes.count, data: pointer)
    }

    /// A C array of NUL-terminated copies of `strings` (nil when empty).
    func cStringArray(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let array = allocate(UnsafeMutablePointer<CChar>?.self, count: strings.count)
        for (index, string) in strings.enumerated() {
            (array + index).initialize(to: cString(string))
        }
        return array
    }

    /// A copy of `value` in C memory (for nested message fields).
    func pointer<T>(to value: T) -> UnsafeMutablePointer<T> {
        let pointer = allocate(T.self, count: 1)
        pointer.initialize(to: value)
        return pointer
    }

    /// A C array of pointers to copies of `values` (for repeated message fields; nil when empty).
    func pointerArray<T>(_ values: [T]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?>? {
        guard !values.isEmpty else { return nil }
        let array = allocate(UnsafeMutablePointer<T>?.self, count: values.count)
        for (index, value) in values.enumerated() {
            (array + index).initialize(to: pointer(to: value))
        }
        return array
    }

    /// A copy of `message`'s C struct in C memory (for a nested message field; nil when absent).
    func message<Message: ProtobufCBridged>(_ message: Message?) -> UnsafeMutablePointer<Message.CMessage>? {
        guard let message else { return nil }
        return pointer(to: message.cMessage(in: self))
    }

    /// A C array of pointers to the C structs of `messages` (for repeated message fields; nil when empty).
    func messages<Message: ProtobufCBridged>(
        _ messages: [Message]
    ) -> UnsafeMutablePointer<UnsafeMutablePointer<Message.CMessage>?>? {
        pointerArray(messages.map { $0.cMessage(in: self) })
    }

    /// A C array of pointers to map entries, one per key, sorted by key so that equal maps pack to equal
    /// bytes (nil when empty).
    func mapEntries<Entry: ProtobufCMapEntry>(
        _ map: [String: String]
    ) -> UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>? {
        pointerArray(
            map.sorted { $0.key < $1.key }.map { key, value in
                var entry = Entry.emptyCMessage()
                entry.key = cString(key)
                entry.value = cString(value)
                return entry
            }
        )
    }
}

/// The empty C string, shared and never freed: protobuf-c packs an empty string as "unset" and never
/// writes through string pointers while packing.
nonisolated(unsafe) private let emptyCString: UnsafeMutablePointer<CChar> = {
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()

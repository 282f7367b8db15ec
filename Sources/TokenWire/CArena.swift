import CProtobufC

/// Owns the C memory that a protobuf-c struct points into while it is being packed.
///
/// Every pointer handed out stays valid until the arena is deinitialized, which frees all of them
/// exactly once. Used only within `WireMessage.serializedBytes()`, never shared across threads.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    init() {}

    deinit {
        for pointer in allocations {
            pointer.deallocate()
        }
    }

    /// A NUL-terminated copy of `string`; the shared empty string for "".
    func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        if string.isEmpty {
            return emptyCString
        }
        var string = string
        return string.withUTF8 { utf8 in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
            allocations.append(UnsafeMutableRawPointer(pointer))
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
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
        allocations.append(UnsafeMutableRawPointer(pointer))
        pointer.initialize(from: bytes, count: bytes.count)
        return ProtobufCBinaryData(len: bytes.count, data: pointer)
    }

    /// A C array of NUL-terminated copies of `strings` (nil when empty).
    func cStringArray(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count)
        allocations.append(UnsafeMutableRawPointer(array))
        for (index, string) in strings.enumerated() {
            (array + index).initialize(to: cString(string))
        }
        return array
    }

    /// A copy of `value` in C memory (for nested message fields).
    func pointer<T>(to value: T) -> UnsafeMutablePointer<T> {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
        allocations.append(UnsafeMutableRawPointer(pointer))
        pointer.initialize(to: value)
        return pointer
    }

    /// A C array of pointers to copies of `values` (for repeated message fields; nil when empty).
    func pointerArray<T>(_ values: [T]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?>? {
        guard !values.isEmpty else { return nil }
        let array = UnsafeMutablePointer<UnsafeMutablePointer<T>?>.allocate(capacity: values.count)
        allocations.append(UnsafeMutableRawPointer(array))
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

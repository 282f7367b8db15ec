import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for one `protobuf_c_message_unpack`: protobuf-c allocates the message and each of its
/// strings, arrays and sub-messages separately, and frees each again after the copy into Swift
/// values. Here they are carved from one buffer on the stack instead; only what does not fit comes
/// from `malloc` (and goes back to `free`).
enum UnpackScratch {
    /// Bytes on the stack (the most Swift always takes from the stack): a typical request fits whole.
    static let capacity = 1_024
    private static let alignment = 16

    /// Where the next allocation starts in the buffer, and the buffer.
    private struct State {
        let base: UnsafeMutableRawPointer
        let capacity: Int
        var used = 0
    }

    /// Runs `body` with an allocator for unpacking that is valid only inside `body` (nil, protobuf-c's
    /// own, should no buffer be had); free everything unpacked with it before `body` returns.
    static func withAllocator<T>(_ body: (UnsafeMutablePointer<ProtobufCAllocator>?) -> T) -> T {
        withUnsafeTemporaryAllocation(byteCount: capacity, alignment: alignment) { buffer in
            guard let base = buffer.baseAddress else { return body(nil) }
            var state = State(base: base, capacity: buffer.count)
            return withUnsafeMutablePointer(to: &state) { state in
                var allocator = ProtobufCAllocator(
                    alloc: allocate, free: release, allocator_data: UnsafeMutableRawPointer(state))
                return withUnsafeMutablePointer(to: &allocator, body)
            }
        }
    }

    private static let allocate: @convention(c) (UnsafeMutableRawPointer?, Int) -> UnsafeMutableRawPointer? = {
        data, size in
        guard let state = data?.assumingMemoryBound(to: State.self) else { return malloc(size) }
        let start = (state.pointee.used + alignment - 1) & ~(alignment - 1)
        guard size <= state.pointee.capacity - min(start, state.pointee.capacity) else { return malloc(size) }
        state.pointee.used = start + size
        return state.pointee.base + start
    }

    private static let release: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = {
        data, pointer in
        guard let pointer else { return }
        if let state = data?.assumingMemoryBound(to: State.self),
            pointer >= state.pointee.base, pointer < state.pointee.base + state.pointee.capacity
        {
            return
        }
        free(pointer)
    }
}

import COpenSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cryptographically secure random bytes from libcrypto's `RAND_bytes`.
///
/// A call to `RAND_bytes` costs microseconds whatever its size (the DRBG's locks and checks), and
/// an Issue draws three small values, so small draws come from 4 KiB blocks filled by one
/// `RAND_bytes` call each. Each thread maps to one of a few blocks. Every byte is handed out once
/// and wiped from its block as it goes. A forked child never reuses its parent's blocks.
public enum SecureRandom {
    /// Draws up to this size come from a block; larger ones call `RAND_bytes` directly.
    static let largestBlockDraw = 256

    /// Returns `count` random bytes.
    /// - Parameter count: How many bytes, 0 or more.
    /// - Returns: The bytes.
    /// - Throws: `TokenError.invalidArgument` for a negative count, `TokenError.randomFailure` when the
    ///   generator fails.
    public static func bytes(_ count: Int) throws(TokenError) -> [UInt8] {
        guard count >= 0, Int32(exactly: count) != nil else {
            throw .invalidArgument("random byte count \(count)")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBufferPointer {
            (buffer: inout UnsafeMutableBufferPointer<UInt8>) throws(TokenError) in
            try fill(UnsafeMutableRawBufferPointer(buffer))
        }
        return bytes
    }

    /// Overwrites every byte of `buffer` with random bytes: a draw into memory the caller already
    /// has (a fixed-size value, part of an array), without an array of its own.
    /// - Throws: `TokenError.invalidArgument` for a buffer over 2 GiB, `TokenError.randomFailure`
    ///   when the generator fails.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(TokenError) {
        guard Int32(exactly: buffer.count) != nil else { throw .invalidArgument("random byte count \(buffer.count)") }
        guard !buffer.isEmpty else { return }
        let bytes = buffer.bindMemory(to: UInt8.self)
        if bytes.count <= largestBlockDraw {
            try RandomBlocks.shared.fill(bytes)
        } else {
            try fillFromGenerator(bytes)
        }
    }

    /// Overwrites `value`'s bytes with random bytes (a fixed-size integer or a tuple of them).
    /// - Throws: `TokenError.randomFailure` when the generator fails.
    public static func fill<Value: BitwiseCopyable>(_ value: inout Value) throws(TokenError) {
        try withUnsafeMutableBytes(of: &value) { (buffer: UnsafeMutableRawBufferPointer) throws(TokenError) in
            try fill(buffer)
        }
    }

    /// Fills `buffer` with one `RAND_bytes` call.
    static func fillFromGenerator(_ buffer: UnsafeMutableBufferPointer<UInt8>) throws(TokenError) {
        guard let length = Int32(exactly: buffer.count) else { throw .invalidArgument("random byte count") }
        guard RAND_bytes(buffer.baseAddress, length) == 1 else {
            ERR_clear_error()
            throw .randomFailure
        }
    }
}

/// The blocks behind `SecureRandom`'s small draws, one per shard of threads.
private final class RandomBlocks: Sendable {
    static let shared = RandomBlocks()

    private static let blockSize = 4_096
    private static let shardCount = 8  // matches the three bits of `shardIndex`

    /// Bumped in a forked child: blocks filled under an older generation are dropped unused.
    private static let forkGeneration = Atomic<UInt64>(0)

    private struct Block: ~Copyable {
        var bytes: UnsafeMutableBufferPointer<UInt8>
        var next: Int
        var generation: UInt64
    }

    /// One block; it lives as long as the process.
    private final class Shard: Sendable {
        let block: Mutex<Block>

        init() {
            let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: RandomBlocks.blockSize)
            bytes.initialize(repeating: 0)
            block = Mutex(Block(bytes: bytes, next: RandomBlocks.blockSize, generation: 0))
        }
    }

    private let shards: [Shard]

    private init() {
        shards = (0..<Self.shardCount).map { _ in Shard() }
        pthread_atfork(nil, nil) {
            RandomBlocks.forkGeneration.add(1, ordering: .relaxed)
        }
    }

    /// Copies the next unused bytes of the calling thread's block into `output` and wipes them.
    func fill(_ output: UnsafeMutableBufferPointer<UInt8>) throws(TokenError) {
        let generation = Self.forkGeneration.load(ordering: .relaxed)
        try shards[Self.shardIndex()].block.withLock { (block: inout Block) throws(TokenError) in
            if block.generation != generation || block.next + output.count > block.bytes.count {
                try SecureRandom.fillFromGenerator(block.bytes)
                block.next = 0
                block.generation = generation
            }
            let drawn = UnsafeMutableBufferPointer(rebasing: block.bytes[block.next..<block.next + output.count])
            _ = output.update(fromContentsOf: drawn)
            drawn.update(repeating: 0)
            block.next += output.count
        }
    }

    /// The calling thread's shard: its thread id, mixed so that neighbouring ids spread out.
    private static func shardIndex() -> Int {
        #if canImport(Darwin)
        let id = UInt64(UInt(bitPattern: pthread_self()))
        #else
        let id = UInt64(pthread_self())
        #endif
        // The top three bits of the product: 0..<8.
        return Int((id &* 0x9E37_79B9_7F4A_7C15) >> 61)
    }
}

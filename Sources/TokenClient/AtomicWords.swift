import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fixed number of 64-bit atomic words in one allocation aligned to a cache line: the storage of
/// this module's lock-free structures (the verified-token cache and the striped counters). The one
/// file of the module that uses unsafe pointers; every index is checked.
final class AtomicWords: @unchecked Sendable {
    // @unchecked: the allocation is owned by this object and never reassigned; every word in it is
    // an `Atomic`, accessed only through atomic operations.
    let count: Int
    private let allocation: UnsafeMutableRawPointer
    private let words: UnsafeMutablePointer<Atomic<UInt64>>

    /// Allocates `count` words, all zero. The memory comes zeroed from the system (`calloc`), so a
    /// large table costs resident memory only as its pages are first written.
    init(count: Int) {
        precondition(count >= 0, "a negative word count")
        self.count = count
        // One line more than asked, to start the words on a cache line.
        guard let allocation = calloc(count + 8, MemoryLayout<UInt64>.stride) else {
            fatalError("out of memory allocating \(count) words")
        }
        self.allocation = allocation
        let aligned = (Int(bitPattern: allocation) + 63) & ~63
        // A zeroed word is an `Atomic<UInt64>` holding 0: the atomic is laid out as its value.
        words = allocation.advanced(by: aligned - Int(bitPattern: allocation))
            .bindMemory(to: Atomic<UInt64>.self, capacity: count)
        #if os(Linux)
            // A large table is read at random (the cache of a million tokens): huge pages spare a page
            // walk per read. Advice only; without transparent huge pages nothing changes.
            let bytes = count * MemoryLayout<UInt64>.stride
            if bytes >= Self.hugePageThreshold {
                let page = Int(sysconf(Int32(_SC_PAGESIZE)))
                let start = (aligned + page - 1) / page * page
                let end = (aligned + bytes) / page * page
                if end > start {
                    _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE)
                }
            }
        #endif
    }

    /// The size from which a table asks for huge pages (8 MiB: four of them).
    private static let hugePageThreshold = 8 << 20

    deinit {
        free(allocation)
    }

    @inline(__always)
    private func word(_ index: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        precondition(index >= 0 && index < count, "atomic word index out of range")
        return words + index
    }

    @inline(__always)
    func load(_ index: Int) -> UInt64 {
        word(index).pointee.load(ordering: .relaxed)
    }

    @inline(__always)
    func loadAcquiring(_ index: Int) -> UInt64 {
        word(index).pointee.load(ordering: .acquiring)
    }

    @inline(__always)
    func store(_ value: UInt64, at index: Int) {
        word(index).pointee.store(value, ordering: .relaxed)
    }

    @inline(__always)
    func storeReleasing(_ value: UInt64, at index: Int) {
        word(index).pointee.store(value, ordering: .releasing)
    }

    /// Replaces `expected` with `desired`; false when the word held something else.
    @inline(__always)
    func compareExchange(_ expected: UInt64, _ desired: UInt64, at index: Int) -> Bool {
        word(index).pointee.compareExchange(expected: expected, desired: desired, ordering: .acquiringAndReleasing)
            .exchanged
    }

    @inline(__always)
    func add(_ value: UInt64, at index: Int) {
        word(index).pointee.wrappingAdd(value, ordering: .relaxed)
    }
}

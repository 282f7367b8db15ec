import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a `TokenValidator` counts, without a shared lock: each thread adds to a cache line of its
/// own (a stripe; threads take stripes in turn, as many stripes as CPUs, rounded up to a power of
/// two), so verifying on every core never makes the cores take turns on one word. A reading sums
/// the stripes; it may miss additions made while it reads, never counts one twice.
final class TokenValidatorCounters: Sendable {
    enum Counter: Int, CaseIterable {
        case cacheHits, cacheMisses, fallbacks, failOpenAcceptances, unknownRefusals, streamsOpened, keyFetches
        case keyWaitsRanOut
    }

    /// Whole cache lines of words per stripe, a word per counter.
    private static let wordsPerStripe = (Counter.allCases.count + 7) & ~7
    private let stripeMask: Int
    private let words: AtomicWords

    init() {
        let processors = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 256))
        var stripes = 1
        while stripes < processors {
            stripes *= 2
        }
        stripeMask = stripes - 1
        words = AtomicWords(count: stripes * Self.wordsPerStripe)
    }

    /// Adds one.
    func increment(_ counter: Counter) {
        words.add(1, at: currentStripe * Self.wordsPerStripe + counter.rawValue)
    }

    /// The count so far.
    func value(_ counter: Counter) -> UInt64 {
        var total: UInt64 = 0
        for stripe in 0...stripeMask {
            total &+= words.load(stripe * Self.wordsPerStripe + counter.rawValue)
        }
        return total
    }

    private var currentStripe: Int {
        ThreadStripe.current & stripeMask
    }
}

/// The stripe number of the calling thread: handed out in turn on a thread's first call and kept in
/// a thread-specific value.
private enum ThreadStripe {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    static let next = Atomic(0)

    static var current: Int {
        if let stored = pthread_getspecific(key) {
            return Int(bitPattern: stored) - 1
        }
        let stripe = next.wrappingAdd(1, ordering: .relaxed).oldValue & (1 << 20 - 1)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: stripe + 1))
        return stripe
    }
}

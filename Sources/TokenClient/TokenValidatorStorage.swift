import TokenCore

/// The mutable state of a `TokenValidator`, behind its lock.
struct TokenValidatorStorage {
    /// What the validator has counted.
    struct Counters {
        var cacheHits: UInt64 = 0
        var cacheMisses: UInt64 = 0
        var fallbacks: UInt64 = 0
        var failOpenAcceptances: UInt64 = 0
        var unknownRefusals: UInt64 = 0
        var streamsOpened: UInt64 = 0
        var keyFetches: UInt64 = 0
        var keyWaitsRanOut: UInt64 = 0
    }

    /// A verification waiting for the stream to publish its token's key; its continuation is set
    /// once its task waits (nil before).
    struct KeyWaiter {
        let keyID: String
        var continuation: CheckedContinuation<Void, Never>?
    }

    /// A task waiting for the state to satisfy a condition.
    struct Waiter {
        let condition: @Sendable (TokenValidatorState) -> Bool
        let continuation: CheckedContinuation<Void, any Error>
    }

    /// The last keys fetched; nil until the first fetch succeeds.
    var keys: KeySet?
    /// How long the service lets clients cache its keys.
    var keysMaxAge: Duration = .seconds(300)
    /// GetKeys calls that answered with usable keys.
    var keysFetched: UInt64 = 0
    /// Tasks waiting for the key fetch in flight; nil when none is.
    var keyFetchWaiters: [CheckedContinuation<Void, Never>]?
    /// When the last key fetch started.
    var lastKeyFetchStart: ContinuousClock.Instant?
    /// Key events of the stream applied to `keys` (a GetKeys answer that was in flight meanwhile
    /// is older than one of them).
    var keyEventsApplied: UInt64 = 0
    /// Verifications waiting for a key, by waiter id (at most `maxKeyWaiters`).
    var keyWaiters: [UInt64: KeyWaiter] = [:]
    /// When a wait for a key last ran out without it.
    var lastKeyWaitRanOut: ContinuousClock.Instant?
    var mirror = RevocationMirror()
    var cache: VerifiedTokenCache
    var counters = Counters()
    /// Whether the mirror was fresh when last looked at (to log transitions once).
    var wasFresh = false
    /// Whether fail-open acceptance was logged during the current stale period.
    var failOpenLogged = false
    var waiters: [UInt64: Waiter] = [:]
    private var lastWaiterID: UInt64 = 0

    init(cacheCapacity: Int) {
        cache = VerifiedTokenCache(capacity: cacheCapacity)
    }

    mutating func makeWaiterID() -> UInt64 {
        lastWaiterID += 1
        return lastWaiterID
    }

    /// Removes and returns the waiters whose condition the state now satisfies.
    mutating func takeSatisfiedWaiters(now: ContinuousClock.Instant, staleAfter: Duration) -> [Waiter] {
        guard !waiters.isEmpty else { return [] }
        let current = snapshot(now: now, staleAfter: staleAfter)
        let satisfied = waiters.filter { $0.value.condition(current) }
        for id in satisfied.keys {
            waiters[id] = nil
        }
        return Array(satisfied.values)
    }

    /// The public view of the state at `now`.
    func snapshot(now: ContinuousClock.Instant, staleAfter: Duration) -> TokenValidatorState {
        let lag = mirror.lastCurrentAt.map { (now - $0) / .milliseconds(1) } ?? -1
        return TokenValidatorState(
            keysLoaded: keys != nil,
            keyCount: keys?.count ?? 0,
            mirrorFresh: mirror.isFresh(at: now, staleAfter: staleAfter),
            appliedSeq: mirror.appliedSeq,
            headSeq: mirror.headSeq,
            lagEvents: mirror.headSeq - min(mirror.headSeq, mirror.appliedSeq),
            lagMilliseconds: lag < 0 ? -1 : Int64(lag.rounded(.down)),
            revocations: mirror.revocations.count,
            snapshotsApplied: mirror.snapshotsApplied,
            streamsOpened: counters.streamsOpened,
            cacheEntries: cache.count,
            cacheHits: counters.cacheHits,
            cacheMisses: counters.cacheMisses,
            fallbacks: counters.fallbacks,
            failOpenAcceptances: counters.failOpenAcceptances,
            unknownRefusals: counters.unknownRefusals,
            keyFetches: counters.keyFetches,
            keyWaiters: keyWaiters.count,
            keyWaitsRanOut: counters.keyWaitsRanOut
        )
    }
}

import TokenCore

/// The mutable state of a `TokenValidator` that changes rarely (keys, the mirror's bookkeeping,
/// waiters), behind its lock. Verification reads none of it on a cache hit: the cache, the
/// published mirror and the counters are shared objects with their own synchronization.
struct TokenValidatorStorage {
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
    let cache: VerifiedTokenCache
    let counters = TokenValidatorCounters()
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
            streamsOpened: counters.value(.streamsOpened),
            cacheEntries: cache.count,
            cacheHits: counters.value(.cacheHits),
            cacheMisses: counters.value(.cacheMisses),
            fallbacks: counters.value(.fallbacks),
            failOpenAcceptances: counters.value(.failOpenAcceptances),
            unknownRefusals: counters.value(.unknownRefusals),
            keyFetches: counters.value(.keyFetches),
            keyWaiters: keyWaiters.count,
            keyWaitsRanOut: counters.value(.keyWaitsRanOut)
        )
    }
}

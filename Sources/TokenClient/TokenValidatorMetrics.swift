import Metrics
import Synchronization

/// The validator's state as swift-metrics gauges and counters, published periodically (never from
/// the verification path), so the embedding service's metrics backend picks them up.
final class TokenValidatorMetrics: Sendable {
    private let keysLoaded: Gauge
    private let keyCount: Gauge
    private let mirrorFresh: Gauge
    private let appliedSeq: Gauge
    private let lagEvents: Gauge
    private let lagMilliseconds: Gauge
    private let revocations: Gauge
    private let cacheEntries: Gauge
    private let cacheHitRate: Gauge
    /// Monotonic counts, incremented by what they grew since the last reading.
    private let totals: [(Counter, any KeyPath<TokenValidatorState, UInt64> & Sendable)]
    private let published: Mutex<[UInt64]>

    init(prefix: String) {
        func gauge(_ name: String) -> Gauge { Gauge(label: "\(prefix)_\(name)") }
        func counter(_ name: String) -> Counter { Counter(label: "\(prefix)_\(name)") }
        keysLoaded = gauge("keys_loaded")
        keyCount = gauge("keys")
        mirrorFresh = gauge("mirror_fresh")
        appliedSeq = gauge("applied_seq")
        lagEvents = gauge("lag_events")
        lagMilliseconds = gauge("lag_milliseconds")
        revocations = gauge("revocations")
        cacheEntries = gauge("cache_entries")
        cacheHitRate = gauge("cache_hit_ratio")
        totals = [
            (counter("cache_hits_total"), \.cacheHits),
            (counter("cache_misses_total"), \.cacheMisses),
            (counter("fallbacks_total"), \.fallbacks),
            (counter("fail_open_acceptances_total"), \.failOpenAcceptances),
            (counter("unknown_refusals_total"), \.unknownRefusals),
            (counter("key_fetches_total"), \.keyFetches),
            (counter("key_waits_ran_out_total"), \.keyWaitsRanOut),
            (counter("snapshots_total"), \.snapshotsApplied),
            (counter("streams_opened_total"), \.streamsOpened),
        ]
        published = Mutex(Array(repeating: 0, count: totals.count))
    }

    /// Records one reading of the state.
    func publish(_ state: TokenValidatorState) {
        keysLoaded.record(state.keysLoaded ? 1 : 0)
        keyCount.record(state.keyCount)
        mirrorFresh.record(state.mirrorFresh ? 1 : 0)
        appliedSeq.record(Double(state.appliedSeq))
        lagEvents.record(Double(state.lagEvents))
        lagMilliseconds.record(state.lagMilliseconds)
        revocations.record(state.revocations)
        cacheEntries.record(state.cacheEntries)
        cacheHitRate.record(state.cacheHitRate)
        published.withLock { published in
            for (index, (counter, value)) in totals.enumerated() {
                let total = state[keyPath: value]
                if total > published[index] {
                    counter.increment(by: Int64(clamping: total - published[index]))
                    published[index] = total
                }
            }
        }
    }
}

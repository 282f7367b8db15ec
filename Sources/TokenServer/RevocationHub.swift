import Logging
import Metrics
import Synchronization
import TokenCore
import TokenStore

/// The service's revocation state in memory and its fan-out to WatchRevocations streams.
///
/// Validate reads the in-memory `RevocationSet` only: it never touches the store. A revocation is
/// applied here as soon as the store acknowledged it; a pump then reads what the store committed
/// since the last fan-out, in `seq` order, and hands it to every watcher. A read that fails is
/// retried until it succeeds, and no heartbeat tells watchers they are current while a revocation
/// acknowledged before the previous heartbeat has not gone out: their mirrors go stale instead,
/// and their clients fall back to Validate. On a store shared with other instances, the store's
/// follower wakes the pump for their revocations as well, so watchers here get them with the very
/// `seq` the other instance answered.
final class RevocationHub: Sendable {
    /// Events per read of the store's log: the most one fan-out or one backlog page holds.
    static let eventsPerRead = 1_000
    /// The wait before the first retry of a failed read of the log; it doubles up to `longestRetryDelay`.
    static let firstRetryDelay = Duration.milliseconds(10)
    static let longestRetryDelay = Duration.seconds(1)

    /// What a watcher's live stream carries.
    enum Item: Sendable {
        /// Newly stored events, in `seq` order.
        case events([RevocationEvent])
        /// Nothing new: time to tell the client it is current.
        case heartbeat

        /// How many events the item carries.
        var eventCount: Int {
            switch self {
            case .events(let events): events.count
            case .heartbeat: 0
            }
        }
    }

    /// One subscriber's live stream.
    struct Subscription: Sendable {
        let id: UInt64
        let items: AsyncStream<Item>
        fileprivate let queuedEvents: QueuedEvents

        /// Tells the hub that the subscriber took `item` off its stream.
        func took(_ item: Item) {
            queuedEvents.count.subtract(item.eventCount, ordering: .relaxed)
        }
    }

    /// The events queued for one watcher: the hub adds what it queues, the watcher subtracts what
    /// it takes.
    fileprivate final class QueuedEvents: Sendable {
        let count = Atomic<Int>(0)
    }

    private struct Watcher {
        let continuation: AsyncStream<Item>.Continuation
        let queuedEvents: QueuedEvents
    }

    private struct State {
        var revocations = RevocationSet()
        /// The highest seq handed to watchers.
        var publishedSeq: UInt64 = 0
        /// The highest seq the store acknowledged to this server (`applyStored`).
        var storedSeq: UInt64 = 0
        /// `storedSeq` at the previous heartbeat: the next one goes out only once it is published.
        var heartbeatHorizon: UInt64 = 0
        var watchers: [UInt64: Watcher] = [:]
        var overflowed: Set<UInt64> = []
        var nextWatcherID: UInt64 = 1
        /// When the oldest acknowledged event not yet handed to watchers was acknowledged.
        var unpublishedSince: ContinuousClock.Instant?
    }

    private let store: any TokenStore
    /// Events queued for one watcher before it is cut off.
    private let queueLimit: Int
    private let logger: Logger
    private let state: Mutex<State>
    private let watchersConnected: Gauge
    private let fanOutLag: Metrics.Timer
    private let wakeUps: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// Loads the revocations in force from the store.
    /// - Parameter metricsFactory: where `token_watchers_connected` and
    ///   `token_revocation_fanout_lag_seconds` go (the process's backend unless a test passes one).
    init(
        store: any TokenStore,
        now: Int64,
        queueLimit: Int,
        logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) async throws {
        watchersConnected = Gauge(label: "token_watchers_connected", factory: metricsFactory)
        fanOutLag = Metrics.Timer(label: "token_revocation_fanout_lag_seconds", factory: metricsFactory)
        self.store = store
        self.queueLimit = queueLimit
        self.logger = logger
        let snapshot = try await store.activeRevocations(now: now)
        var initial = State()
        for event in snapshot.events {
            initial.revocations.apply(event)
        }
        initial.publishedSeq = snapshot.headSeq
        state = Mutex(initial)
        (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        logger.info("loaded revocations", metadata: ["count": "\(snapshot.events.count)", "head_seq": "\(snapshot.headSeq)"])
    }

    /// True when the token, its session or its subject is revoked.
    func isRevoked(tokenID: String, sessionID: String, subject: String, issuedAt: Int64) -> Bool {
        state.withLock { $0.revocations.isRevoked(tokenID: tokenID, sessionID: sessionID, subject: subject, issuedAt: issuedAt) }
    }

    /// The highest seq handed to watchers.
    var publishedSeq: UInt64 {
        state.withLock { $0.publishedSeq }
    }

    /// Applies an event the store has just acknowledged and schedules its fan-out.
    func applyStored(_ event: RevocationEvent) {
        state.withLock { state in
            state.revocations.apply(event)
            state.storedSeq = max(state.storedSeq, event.seq)
            if state.unpublishedSince == nil {
                state.unpublishedSince = .now
            }
        }
        wake.yield()
    }

    /// Registers a watcher. Its stream carries every event stored after this call (and possibly a
    /// few before it: filter by seq) and heartbeats; it ends when the watcher falls too far behind.
    func subscribe() -> Subscription {
        // Every item but a heartbeat carries an event, so the event limit bounds the items too.
        let (items, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingOldest(queueLimit))
        let queuedEvents = QueuedEvents()
        let id = state.withLock { state in
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            state.watchers[id] = Watcher(continuation: continuation, queuedEvents: queuedEvents)
            watchersConnected.record(state.watchers.count)
            return id
        }
        return Subscription(id: id, items: items, queuedEvents: queuedEvents)
    }

    /// Removes a watcher.
    /// - Returns: true when it had been cut off for falling behind.
    @discardableResult
    func unsubscribe(_ id: UInt64) -> Bool {
        let (watcher, overflowed) = state.withLock { state in
            let removed = (state.watchers.removeValue(forKey: id), state.overflowed.remove(id) != nil)
            watchersConnected.record(state.watchers.count)
            return removed
        }
        watcher?.continuation.finish()
        return overflowed
    }

    /// Drops revocations that can no longer cover a valid token.
    func prune(now: Int64) {
        state.withLock { $0.revocations.prune(now: now) }
    }

    /// Fans out stored events (whenever `applyStored` wakes it) and sends heartbeats, until cancelled.
    func run(heartbeatInterval: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pump() }
            group.addTask { await self.beat(every: heartbeatInterval) }
            if let shared = store as? any SharedTokenStore {
                // Revocations stored by other instances wake the pump too.
                let wake = self.wake
                group.addTask { await shared.followRevocations { wake.yield() } }
            }
            await group.next()
            group.cancelAll()
        }
        let watchers = state.withLock { state in
            defer {
                state.watchers.removeAll()
                watchersConnected.record(0)
            }
            return Array(state.watchers.values)
        }
        for watcher in watchers {
            watcher.continuation.finish()
        }
    }

    private func pump() async {
        for await _ in wakeUps {
            await publishNewEvents()
        }
    }

    /// Hands every event stored since the last fan-out to the watchers, page by page.
    func publishNewEvents() async {
        var retryDelay = Self.firstRetryDelay
        while !Task.isCancelled {
            let (after, acknowledged) = state.withLock { ($0.publishedSeq, $0.storedSeq) }
            let events: [RevocationEvent]
            do {
                // Events purged before this read had expired: nothing they covered is still valid,
                // so the fan-out goes on with what the log still holds.
                events = try await store.revocationEvents(after: after, limit: Self.eventsPerRead).events
            } catch {
                logger.warning(
                    "reading revocation events failed; retrying",
                    metadata: ["error": "\(error)", "retry_in": "\(retryDelay)"])
                do {
                    try await Task.sleep(for: retryDelay)
                } catch {
                    return
                }
                retryDelay = min(retryDelay * 2, Self.longestRetryDelay)
                continue
            }
            retryDelay = Self.firstRetryDelay
            let caughtUp = events.count < Self.eventsPerRead
            send(.events(events)) { state in
                for event in events {
                    state.revocations.apply(event)
                }
                state.publishedSeq = max(state.publishedSeq, events.last?.seq ?? 0)
                // Everything acknowledged before the read was committed before it, so a read that
                // reached the end of the log covered it (or it was purged, having expired).
                if caughtUp {
                    state.publishedSeq = max(state.publishedSeq, acknowledged)
                    if let since = state.unpublishedSince, state.publishedSeq >= state.storedSeq {
                        state.unpublishedSince = nil
                        let (seconds, attoseconds) = (ContinuousClock.now - since).components
                        fanOutLag.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
                    }
                }
                return !events.isEmpty
            }
            if caughtUp {
                return
            }
        }
    }

    private func beat(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            heartbeat()
        }
    }

    /// Tells every watcher it is current, unless a revocation acknowledged before the previous
    /// heartbeat has not gone out yet. (Under a steady stream of revocations the fan-out always lags
    /// the latest a little; the horizon keeps heartbeats going then, and stops them when it is stuck.)
    func heartbeat() {
        send(.heartbeat) { state in
            let horizon = state.heartbeatHorizon
            state.heartbeatHorizon = state.storedSeq
            return state.publishedSeq >= horizon
        }
    }

    /// Applies `update` and, when it says so, hands `item` to every watcher; a watcher that would
    /// have more than `queueLimit` events queued is cut off instead.
    private func send(_ item: Item, updating update: (inout State) -> Bool) {
        let cutOff: [Watcher] = state.withLock { state in
            guard update(&state) else { return [] }
            var cutOff: [Watcher] = []
            for (id, watcher) in state.watchers {
                let queued = watcher.queuedEvents.count.wrappingAdd(item.eventCount, ordering: .relaxed).newValue
                var dropped = queued > queueLimit
                if !dropped, case .dropped = watcher.continuation.yield(item) {
                    dropped = true
                }
                if dropped {
                    state.overflowed.insert(id)
                    state.watchers[id] = nil
                    cutOff.append(watcher)
                }
            }
            if !cutOff.isEmpty {
                watchersConnected.record(state.watchers.count)
            }
            return cutOff
        }
        for watcher in cutOff {
            watcher.continuation.finish()
        }
    }
}

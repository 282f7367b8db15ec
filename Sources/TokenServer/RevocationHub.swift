import Logging
import Metrics
import Synchronization
import TokenCore
import TokenStore

/// The service's revocation state in memory and its fan-out to WatchRevocations streams.
///
/// Validate reads the in-memory `RevocationSet` only: it never touches the store. A revocation is
/// applied here as soon as the store acknowledged it; a pump then reads what the store committed
/// since the last fan-out, in `seq` order, and hands it to every watcher.
///
/// A heartbeat certifies that this server has every revocation up to the watcher's `head_seq` as of
/// now, so it goes out only when that is known: every revocation acknowledged before the previous
/// heartbeat has gone out, and, on a store shared with other instances, a round of following the
/// store (`followRound`) confirmed within `certificationBound` that everything the store held had
/// been read. Otherwise watchers get nothing, their mirrors go stale and their clients follow
/// their policy.
///
/// Seqs count within the log's epoch. A round that finds the store's log went back (its counter
/// below what was seen, or the last published event gone or replaced: the store lost writes)
/// starts a new epoch; an instance that finds a new epoch adopts it. Adopting ends every stream
/// (clients resume and get a snapshot of the new epoch), merges the store's revocations into
/// memory, and writes back to the store what it lost, so that no acknowledged revocation is
/// forgotten while any instance still holds it.
final class RevocationHub: Sendable {
    /// Events per read of the store's log: the most one fan-out or one backlog page holds.
    static let eventsPerRead = 1_000
    /// The wait before the first retry of a failed read of the log; it doubles up to `longestRetryDelay`.
    static let firstRetryDelay = Duration.milliseconds(10)
    static let longestRetryDelay = Duration.seconds(1)
    /// Published seqs remembered to check Revoke answers against (see `RecentEvents`).
    static let recentEventsKept = 4_096
    /// Epochs left behind remembered: a store back in one of them went back (it lost writes).
    static let leftEpochsKept = 16
    /// Lost revocations written back to the store at once after a new epoch.
    static let writeBackConcurrency = 16

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

    /// Why the hub ended a watcher's stream.
    enum Ending: Sendable {
        /// It fell more than the queue limit behind.
        case overflowed
        /// The log started a new epoch: what it was sent counts in the old one.
        case epochChanged
    }

    /// One subscriber's live stream.
    struct Subscription: Sendable {
        let id: UInt64
        /// The epoch its events count in (the stream ends when the log starts another).
        let epoch: UInt64
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

    /// What a round of following the store decided.
    private enum Verdict {
        /// The log is the one followed: check it still holds `anchor`, then read up to the head.
        case follow(anchor: RevocationEvent?)
        /// The log went back: start a new epoch in place of the one found.
        case startEpoch(replacing: UInt64)
        /// Another instance started an epoch: take it up.
        case adopt(UInt64)
        /// Revocations lost by the store are still to be written back.
        case writeBack
    }

    private struct State {
        var revocations = RevocationSet()
        /// The epoch every seq below counts in.
        var epoch: UInt64 = 0
        /// The highest seq handed to watchers.
        var publishedSeq: UInt64 = 0
        /// The event with seq `publishedSeq`, when known: the store's log must still hold it.
        var anchor: RevocationEvent?
        /// The highest seq the store acknowledged to this server (`applyStored`), and its event.
        var storedSeq: UInt64 = 0
        var storedEvent: RevocationEvent?
        var recent = RecentEvents(capacity: RevocationHub.recentEventsKept)
        /// `storedSeq` at the previous heartbeat: the next one goes out only once it is published.
        var heartbeatHorizon: UInt64 = 0
        var watchers: [UInt64: Watcher] = [:]
        var ended: [UInt64: Ending] = [:]
        var nextWatcherID: UInt64 = 1
        /// When the oldest acknowledged event not yet handed to watchers was acknowledged.
        var unpublishedSince: ContinuousClock.Instant?

        // Following a shared store.

        /// When a round last confirmed that everything the store held had been published.
        var certifiedAt: ContinuousClock.Instant?
        /// Heads a round read and the pump has not reached yet, with when they were read.
        var pendingCertifications: [(seq: UInt64, readAt: ContinuousClock.Instant)] = []
        /// A Revoke answered with a seq already published, for another event than the one published
        /// (`regressed`), or for one no longer remembered (`suspectSeq`: the next round checks).
        var regressed = false
        var suspectSeq: UInt64?
        /// Epochs this instance left, newest last.
        var leftEpochs: [UInt64] = []
        /// True from the start of taking up a new epoch until what the store lost is written back.
        var resynchronizing = false
        /// Revocations the store lost, still to be written back in the current epoch (nil: none).
        var writeBack: [RevocationEvent]?
        /// Whether the last round failed (its failure was logged; the next ones are not).
        var roundFailed = false
    }

    private let store: any TokenStore
    /// `store` when it is shared by several instances, else nil (then nothing but this instance
    /// writes the log, and the state is current whenever the fan-out is).
    private let shared: (any SharedTokenStore)?
    private let clock: any UnixClock
    /// How long a round's confirmation lets this instance vouch for its state.
    private let certificationBound: Duration
    /// Events queued for one watcher before it is cut off.
    private let queueLimit: Int
    private let logger: Logger
    private let state: Mutex<State>
    private let watchersConnected: Gauge
    private let fanOutLag: Metrics.Timer
    private let wakeUps: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// On a shared store: brings this instance's key ring up to the store's, before key events of
    /// other instances go out, and after the log changed epoch even if the stored ring is older
    /// (set by `run`).
    private let keyRingReload = Mutex<(@Sendable (_ evenIfOlder: Bool) async throws -> Void)?>(nil)

    /// Loads the revocations in force from the store, and the log's epoch (starting the first one
    /// when the store has none).
    /// - Parameters:
    ///   - certificationBound: on a shared store, how long after a round's confirmation this
    ///     instance keeps vouching for its state (heartbeats, Validate, Health).
    ///   - metricsFactory: where `token_watchers_connected` and
    ///     `token_revocation_fanout_lag_seconds` go (the process's backend unless a test passes one).
    init(
        store: any TokenStore,
        clock: any UnixClock,
        queueLimit: Int,
        certificationBound: Duration = .seconds(2),
        logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) async throws {
        watchersConnected = Gauge(label: "token_watchers_connected", factory: metricsFactory)
        fanOutLag = Metrics.Timer(label: "token_revocation_fanout_lag_seconds", factory: metricsFactory)
        self.store = store
        self.shared = store as? any SharedTokenStore
        self.clock = clock
        self.certificationBound = certificationBound
        self.queueLimit = queueLimit
        self.logger = logger
        if try await store.revocationLogHead().epoch == 0 {
            _ = try await store.startRevocationLogEpoch(replacing: 0)
        }
        let snapshot = try await store.activeRevocations(now: clock.now())
        var initial = State()
        for event in snapshot.events {
            initial.revocations.apply(event)
        }
        initial.epoch = snapshot.epoch
        initial.publishedSeq = snapshot.headSeq
        initial.anchor = snapshot.events.last
        state = Mutex(initial)
        (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        logger.info(
            "loaded revocations",
            metadata: [
                "count": "\(snapshot.events.count)", "head_seq": "\(snapshot.headSeq)", "epoch": "\(snapshot.epoch)",
            ])
    }

    /// True when the token, its session or its subject is revoked.
    func isRevoked(tokenID: String, sessionID: String, subject: String, issuedAt: Int64) -> Bool {
        state.withLock { $0.revocations.isRevoked(tokenID: tokenID, sessionID: sessionID, subject: subject, issuedAt: issuedAt) }
    }

    /// True when the signing key with this `kid` is revoked, or the token with these claims (when
    /// given) is.
    func isRevoked(keyID: String, claims: Claims? = nil) -> Bool {
        state.withLock { state in
            state.revocations.isRevoked(keyID: keyID) || claims.map { state.revocations.isRevoked($0) } ?? false
        }
    }

    /// The highest seq handed to watchers.
    var publishedSeq: UInt64 {
        state.withLock { $0.publishedSeq }
    }

    /// The epoch of the seqs handed to watchers and the highest of them; nil while the hub takes up
    /// a new epoch (streams start once it is done).
    var position: (epoch: UInt64, publishedSeq: UInt64)? {
        state.withLock { $0.resynchronizing ? nil : ($0.epoch, $0.publishedSeq) }
    }

    /// Whether this instance can vouch for its revocations now: always on a store of its own; on a
    /// shared store, while a round confirmed within `certificationBound` that it had read
    /// everything the store held, and nothing since cast doubt on the log.
    func isCurrent() -> Bool {
        guard shared != nil else { return true }
        return state.withLock { isCertified($0, now: .now) }
    }

    private func isCertified(_ state: State, now: ContinuousClock.Instant) -> Bool {
        guard shared != nil else { return true }
        guard let certifiedAt = state.certifiedAt, !state.regressed, state.suspectSeq == nil, !state.resynchronizing
        else { return false }
        return now - certifiedAt <= certificationBound
    }

    /// Applies an event the store has just acknowledged and schedules its fan-out.
    func applyStored(_ event: RevocationEvent) {
        state.withLock { state in
            state.revocations.apply(event)
            if shared != nil, event.seq <= state.publishedSeq {
                // The fan-out may have read it first; else the log handed the seq out again.
                switch state.recent.matches(event) {
                case true?: break
                case false?: state.regressed = true
                case nil: state.suspectSeq = max(state.suspectSeq ?? 0, event.seq)
                }
            }
            if event.seq > state.storedSeq {
                state.storedSeq = event.seq
                state.storedEvent = event
            }
            if state.unpublishedSince == nil {
                state.unpublishedSince = .now
            }
        }
        wake.yield()
    }

    /// Registers a watcher. Its stream carries every event published after this call (and possibly
    /// a few before it: filter by seq) and heartbeats; it ends when the watcher falls too far
    /// behind or the log starts a new epoch (at once when the hub is taking one up).
    func subscribe() -> Subscription {
        // Every item but a heartbeat carries an event, so the event limit bounds the items too.
        let (items, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingOldest(queueLimit))
        let queuedEvents = QueuedEvents()
        let (id, epoch) = state.withLock { state in
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            if state.resynchronizing {
                state.ended[id] = .epochChanged
                continuation.finish()
            } else {
                state.watchers[id] = Watcher(continuation: continuation, queuedEvents: queuedEvents)
                watchersConnected.record(state.watchers.count)
            }
            return (id, state.epoch)
        }
        return Subscription(id: id, epoch: epoch, items: items, queuedEvents: queuedEvents)
    }

    /// Removes a watcher.
    /// - Returns: why the hub had ended its stream, if it had.
    @discardableResult
    func unsubscribe(_ id: UInt64) -> Ending? {
        let (watcher, ending) = state.withLock { state in
            let removed = (state.watchers.removeValue(forKey: id), state.ended.removeValue(forKey: id))
            watchersConnected.record(state.watchers.count)
            return removed
        }
        watcher?.continuation.finish()
        return ending
    }

    /// Drops revocations that can no longer cover a valid token.
    func prune(now: Int64) {
        state.withLock { $0.revocations.prune(now: now) }
    }

    /// Fans out stored events (whenever `applyStored` or a round wakes it), sends heartbeats and,
    /// on a shared store, follows it, until cancelled.
    /// - Parameter reloadKeyRing: on a shared store, reads the stored key ring into this instance:
    ///   run before a page with key events goes out (so that this instance's GetKeys, Validate and
    ///   Issue are never behind what its watchers got) and after the log changed epoch.
    func run(
        heartbeatInterval: Duration,
        reloadKeyRing: (@Sendable (_ evenIfOlder: Bool) async throws -> Void)? = nil
    ) async {
        keyRingReload.withLock { $0 = reloadKeyRing }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pump() }
            group.addTask { await self.beat(every: heartbeatInterval) }
            if let shared {
                group.addTask { await shared.followRevocations { log in await self.followRound(reading: log) } }
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

    /// Hands every event stored since the last fan-out to the watchers, page by page. Each read
    /// starts at the last event published, which must still be there as it was: a log that went
    /// back is no continuation of what watchers have (the next round starts a new epoch).
    func publishNewEvents() async {
        var retryDelay = Self.firstRetryDelay
        while !Task.isCancelled {
            let (epoch, after, acknowledged, anchor) = state.withLock {
                ($0.epoch, $0.publishedSeq, $0.storedSeq, $0.anchor)
            }
            // Only a shared store can go back under a running instance.
            let checked = shared == nil ? nil : anchor.flatMap { $0.seq == after && after > 0 ? $0 : nil }
            let page: RevocationEventPage
            do {
                // Events purged before this read had expired: nothing they covered is still valid,
                // so the fan-out goes on with what the log still holds.
                page = try await store.revocationEvents(
                    after: checked == nil ? after : after - 1, limit: Self.eventsPerRead + (checked == nil ? 0 : 1))
                // Key events of other instances go out once this instance has the ring they made.
                if shared != nil, page.events.contains(where: \.isKeyEvent),
                    let reload = keyRingReload.withLock({ $0 })
                {
                    try await reload(false)
                }
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
            var events = page.events
            var wentBack = false
            if let checked {
                if events.first?.seq == checked.seq {
                    wentBack = !events.removeFirst().isSame(as: checked)
                } else {
                    // Gone: the log went back, unless it was purged, having expired.
                    wentBack = page.isComplete
                }
            }
            let caughtUp = events.count < Self.eventsPerRead
            var sameLog = true
            send(.events(events)) { state in
                // A page of another epoch is no continuation: the next round takes the new epoch up.
                guard page.epoch == epoch, state.epoch == epoch else {
                    sameLog = false
                    return false
                }
                guard !wentBack else {
                    state.regressed = true
                    sameLog = false
                    return false
                }
                for event in events {
                    state.revocations.apply(event)
                    state.recent.record(event)
                }
                if let last = events.last, last.seq > state.publishedSeq {
                    state.publishedSeq = last.seq
                    state.anchor = last
                }
                // Everything acknowledged before the read was committed before it, so a read that
                // reached the end of the log covered it (or it was purged, having expired).
                if caughtUp {
                    if acknowledged > state.publishedSeq {
                        state.publishedSeq = acknowledged
                        if let stored = state.storedEvent, stored.seq == acknowledged {
                            state.anchor = stored
                            state.recent.record(stored)
                        }
                    }
                    if let since = state.unpublishedSince, state.publishedSeq >= state.storedSeq {
                        state.unpublishedSince = nil
                        let (seconds, attoseconds) = (ContinuousClock.now - since).components
                        fanOutLag.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
                    }
                }
                Self.certifyPublished(&state)
                return !events.isEmpty
            }
            if caughtUp || !sameLog {
                return
            }
        }
    }

    /// Turns the pending certifications the fan-out has reached into the current one.
    private static func certifyPublished(_ state: inout State) {
        while let first = state.pendingCertifications.first, first.seq <= state.publishedSeq {
            state.pendingCertifications.removeFirst()
            state.certifiedAt = max(state.certifiedAt ?? first.readAt, first.readAt)
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

    /// Tells every watcher it is current, unless this instance cannot vouch for it: a revocation
    /// acknowledged before the previous heartbeat has not gone out yet, or (on a shared store) no
    /// round confirmed the state within `certificationBound`. (Under a steady stream of
    /// revocations the fan-out always lags the latest a little; the horizon keeps heartbeats going
    /// then, and stops them when it is stuck.)
    func heartbeat() {
        let now = ContinuousClock.now
        send(.heartbeat) { state in
            let horizon = state.heartbeatHorizon
            state.heartbeatHorizon = state.storedSeq
            return state.publishedSeq >= horizon && isCertified(state, now: now)
        }
    }

    // MARK: Following a shared store

    /// One round of following the shared store: reads the log's head and checks that the log is
    /// still the one followed (same epoch, a counter no lower than what was seen, the last published
    /// event still in place), then lets the pump read up to the head and certifies the state as of
    /// the read once it has. A log that went back gets a new epoch; a new epoch is taken up.
    /// - Parameter log: the follower's reader of the log.
    /// - Returns: the head's seq (the follower waits for an event past it), or nil when the store
    ///   could not be read.
    func followRound(reading log: any RevocationLogReader) async -> UInt64? {
        // New events are read at once; the checks below run meanwhile (a log that went back is
        // caught by them, whatever the pump published).
        wake.yield()
        // What was seen before the read: the log held all of it then, unless it went back.
        let (epoch, seen) = state.withLock { ($0.epoch, max($0.publishedSeq, $0.storedSeq)) }
        let readAt = ContinuousClock.now
        do {
            let head = try await log.revocationLogHead()
            let verdict = state.withLock { state -> Verdict in
                if state.writeBack != nil { return .writeBack }
                if head.epoch == 0 || state.leftEpochs.contains(head.epoch) {
                    return .startEpoch(replacing: head.epoch)
                }
                if head.epoch != epoch || head.epoch != state.epoch { return .adopt(head.epoch) }
                if state.regressed || head.seq < seen { return .startEpoch(replacing: head.epoch) }
                // Taking up this epoch failed half way: again.
                if state.resynchronizing { return .adopt(head.epoch) }
                return .follow(anchor: state.anchor)
            }
            switch verdict {
            case .follow(let anchor):
                if let anchor, anchor.seq > 0, try await !log.holds(anchor, epoch: epoch) {
                    try await startEpoch(replacing: epoch, found: head)
                    break
                }
                state.withLock { state in
                    if let suspect = state.suspectSeq, suspect <= anchor?.seq ?? 0 {
                        // The log still holds the last published event: it holds every one before it.
                        state.suspectSeq = nil
                    }
                    state.pendingCertifications.append((head.seq, readAt))
                    if state.pendingCertifications.count > 8 {
                        state.pendingCertifications.removeFirst()
                    }
                    Self.certifyPublished(&state)
                }
                wake.yield()
            case .startEpoch(let replacing):
                try await startEpoch(replacing: replacing, found: head)
            case .adopt(let newEpoch):
                try await adopt(newEpoch)
            case .writeBack:
                try await writeBackLost()
            }
            state.withLock { $0.roundFailed = false }
            return head.seq
        } catch {
            if !state.withLock({ $0.roundFailed }) {
                logger.warning("following the revocation log failed", metadata: ["error": "\(error)"])
            }
            state.withLock { $0.roundFailed = true }
            return nil
        }
    }

    /// Starts a new epoch in place of `replacing` (unless another instance did first) and takes up
    /// whichever the store holds then.
    private func startEpoch(replacing: UInt64, found head: RevocationLogHead) async throws {
        let (epoch, published) = state.withLock { ($0.epoch, $0.publishedSeq) }
        let started = try await store.startRevocationLogEpoch(replacing: replacing)
        logger.warning(
            "the revocation log went back (the store lost writes): new epoch",
            metadata: [
                "epoch": "\(epoch)", "published_seq": "\(published)", "store_epoch": "\(head.epoch)",
                "store_seq": "\(head.seq)", "new_epoch": "\(started)",
            ])
        try await adopt(started)
    }

    /// Takes up the log's epoch `epoch`: ends every stream (clients resume and get a snapshot of
    /// the new epoch), merges the store's revocations into memory and writes back what the store
    /// lost. New streams wait until that is done.
    private func adopt(_ epoch: UInt64) async throws {
        let cut = state.withLock { state in
            state.resynchronizing = true
            state.certifiedAt = nil
            state.pendingCertifications.removeAll()
            let cut = Array(state.watchers)
            for (id, _) in cut {
                state.ended[id] = .epochChanged
            }
            state.watchers.removeAll()
            watchersConnected.record(0)
            return cut.map(\.value)
        }
        for watcher in cut {
            watcher.continuation.finish()
        }
        let snapshot = try await store.activeRevocations(now: clock.now())
        guard snapshot.epoch == epoch else {
            throw TokenStoreError.unavailable("the revocation log changed epoch again while it was read")
        }
        let lost = state.withLock { state in
            let lost = Self.missing(from: snapshot.events, in: state.revocations)
            for event in snapshot.events {
                state.revocations.apply(event)
            }
            if state.epoch != epoch {
                state.leftEpochs.append(state.epoch)
                if state.leftEpochs.count > Self.leftEpochsKept {
                    state.leftEpochs.removeFirst()
                }
            }
            state.epoch = epoch
            state.publishedSeq = snapshot.headSeq
            state.anchor = snapshot.events.last
            state.storedSeq = 0
            state.storedEvent = nil
            state.heartbeatHorizon = 0
            state.unpublishedSince = nil
            state.recent.removeAll()
            state.regressed = false
            state.suspectSeq = nil
            state.writeBack = lost
            return lost
        }
        logger.warning(
            "took up a new epoch of the revocation log",
            metadata: ["epoch": "\(epoch)", "head_seq": "\(snapshot.headSeq)", "lost_revocations": "\(lost.count)"])
        // A store that lost writes may have lost a key ring change too.
        try await keyRingReload.withLock({ $0 })?(true)
        try await writeBackLost()
    }

    /// The revocations of `memory` that the store's `stored` events do not cover (none, or one
    /// that expires earlier, or for a subject one revoked earlier).
    private static func missing(from stored: [RevocationEvent], in memory: RevocationSet) -> [RevocationEvent] {
        struct Target: Hashable {
            let kind: RevocationEvent.Kind
            let value: String
        }
        var covered: [Target: (revokedAt: Int64, expiresAt: Int64)] = [:]
        covered.reserveCapacity(stored.count)
        for event in stored {
            let target = Target(kind: event.kind, value: event.value)
            let known = covered[target] ?? (event.revokedAt, event.expiresAt)
            covered[target] = (max(known.revokedAt, event.revokedAt), max(known.expiresAt, event.expiresAt))
        }
        return memory.entries.filter { entry in
            guard let stored = covered[Target(kind: entry.kind, value: entry.value)] else { return true }
            return stored.expiresAt < entry.expiresAt || (entry.kind == .subject && stored.revokedAt < entry.revokedAt)
        }
    }

    /// Stores again the revocations the store lost (as new events of the current epoch), a few
    /// at a time; what is left after a failure is written at the next round.
    private func writeBackLost() async throws {
        let now = clock.now()
        while let next = state.withLock({ $0.writeBack.map { Array($0.prefix(Self.writeBackConcurrency)) } }) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for entry in next {
                    group.addTask {
                        let receipt = try await self.store.revoke(
                            RevocationRequest(
                                kind: entry.kind, value: entry.value,
                                // Only a subject's time decides what it covers; the others are stored anew now.
                                revokedAt: entry.kind == .subject ? entry.revokedAt : now,
                                expiresAt: entry.expiresAt, reason: "written back: the store lost it",
                                timesAreDecided: true))
                        self.applyStored(receipt.event)
                    }
                }
                try await group.waitForAll()
            }
            state.withLock { state in
                guard let left = state.writeBack?.dropFirst(next.count) else { return }
                state.writeBack = left.isEmpty ? nil : Array(left)
            }
        }
        state.withLock { $0.resynchronizing = false }
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
                    state.ended[id] = .overflowed
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

extension RevocationLogReader {
    /// Whether the log still holds `anchor` as it was published (a log that lost writes lost a
    /// suffix: if the anchor is there, so is everything before it).
    /// - Parameter epoch: the epoch the anchor counts in; a log of another one is left to the next
    ///   round, which takes it up.
    func holds(_ anchor: RevocationEvent, epoch: UInt64) async throws -> Bool {
        let page = try await revocationEvents(after: anchor.seq - 1, limit: 1)
        guard page.epoch == epoch else { return true }
        // Purged since: it had expired, and only the counter tells whether the log went back.
        guard page.isComplete else { return true }
        guard let first = page.events.first else { return false }
        return first.isSame(as: anchor)
    }
}

extension RevocationEvent {
    /// Whether this is a key event: a revoked signing key or a key ring change.
    var isKeyEvent: Bool {
        kind == .signingKey || kind == .keyRing
    }

    /// Whether this is `other`: the same seq for the same target. (Its times may be decided by the
    /// store; a seq handed out again goes to another target, or to the same one revoked again,
    /// which covers what the first covered.)
    func isSame(as other: RevocationEvent) -> Bool {
        seq == other.seq && kind == other.kind && value == other.value
    }
}

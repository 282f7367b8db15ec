import Foundation
import TokenWire

/// What `tokenctl watch` knows about the revocation stream: the seq applied so far, when the last batch
/// came, and how many lines it printed. All its lines are printed from here, one at a time.
actor WatchMonitor {
    private let json: Bool
    private let showHeartbeats: Bool
    private let staleAfter: Duration
    private let limit: Int?
    private let clock = ContinuousClock()
    private var lastBatch: ContinuousClock.Instant
    private var appliedSeq: UInt64 = 0
    /// The log epoch of the last batch.
    private var epoch: UInt64 = 0
    /// The head_seq of the last batch.
    private var headSeq: UInt64 = 0
    private var printed = 0
    /// The stale lines printed since the last batch.
    private var staleReports = 0

    /// - Parameters:
    ///   - json: one JSON object per line instead of text.
    ///   - showHeartbeats: also print batches without events.
    ///   - staleAfter: the gap after which the stream counts as stale.
    ///   - limit: the number of lines (stale lines aside) after which the watch ends; nil for no end.
    init(json: Bool, showHeartbeats: Bool, staleAfter: Duration, limit: Int?) {
        self.json = json
        self.showHeartbeats = showHeartbeats
        self.staleAfter = staleAfter
        self.limit = limit
        self.lastBatch = clock.now
    }

    /// Prints the lines for one batch.
    /// - Parameter batch: the batch as it arrived.
    /// - Returns: whether the watch is done (its --count reached).
    /// - Throws: when a line cannot be written as JSON.
    func receive(_ batch: RevocationBatch) throws -> Bool {
        let now = clock.now
        let gap = now - lastBatch
        lastBatch = now
        staleReports = 0
        if batch.epoch != epoch {
            // Seqs of another epoch: what was applied counts no more.
            epoch = batch.epoch
            appliedSeq = 0
        }
        headSeq = batch.headSeq
        let timing = Timing(sinceLastBatch: gap, stale: gap > staleAfter)
        if batch.events.isEmpty {
            // A batch without events says the watcher is current up to its head_seq.
            appliedSeq = max(appliedSeq, batch.headSeq)
            guard showHeartbeats else { return false }
            try printHeartbeat(timing: timing)
            return isDone
        }
        for event in batch.events {
            // A snapshot batch is applied whole: the mirror stands at its head_seq.
            appliedSeq = batch.snapshot ? batch.headSeq : max(appliedSeq, event.seq)
            try printEvent(event, snapshot: batch.snapshot, timing: timing)
            if isDone {
                return true
            }
        }
        return false
    }

    /// Prints a stale line when no batch came for another `staleAfter`.
    /// - Returns: how long to wait before asking again.
    func reportStaleness() throws -> Duration {
        let gap = clock.now - lastBatch
        if gap > staleAfter * (staleReports + 1) {
            staleReports += 1
            try printStale(gap: gap)
        }
        return staleAfter * (staleReports + 1) - gap + .milliseconds(1)
    }

    /// When a line was printed and whether the stream had gone stale before its batch.
    private struct Timing {
        var sinceLastBatch: Duration
        var stale: Bool

        var milliseconds: Int64 {
            sinceLastBatch.components.seconds * 1_000 + sinceLastBatch.components.attoseconds / 1_000_000_000_000_000
        }
    }

    /// The events the watcher is behind the last head_seq (0 when it is ahead).
    private var lag: UInt64 {
        let difference = headSeq.subtractingReportingOverflow(appliedSeq)
        return difference.overflow ? 0 : difference.partialValue
    }

    private var isDone: Bool {
        guard let limit else { return false }
        return printed >= limit
    }

    private func printEvent(
        _ event: WireRevocationEvent, snapshot: Bool, timing: Timing
    ) throws {
        printed += 1
        let isKeyRing = event.kind == .keyRing
        if json {
            try Output.printJSON([
                "type": snapshot ? "snapshot" : "event",
                "epoch": epoch,
                "seq": event.seq,
                "kind": Output.name(event.kind),
                "value": event.value,
                "revoked_at": event.revokedAt,
                "expires_at": event.expiresAt,
                // A key ring change: every published key after it.
                "keys": isKeyRing
                    ? event.keys.map { key -> Output.Object in
                        [
                            "key_id": key.keyID, "state": Output.name(key.state), "algorithm": key.algorithm,
                            "not_before": key.notBefore, "not_after": key.notAfter,
                        ]
                    } : NSNull(),
                "head_seq": headSeq,
                "applied_seq": appliedSeq,
                "lag_events": lag,
                "since_last_batch_ms": timing.milliseconds,
                "stale": timing.stale,
            ])
            return
        }
        // What the event says: a revocation's target and times, or a key ring's keys by state.
        let what =
            isKeyRing
            ? " keys=" + event.keys.map { "\(Output.name($0.state)):\($0.keyID)" }.joined(separator: ",")
                + " changed_at=\(Output.time(event.revokedAt))"
            : " value=\(event.value)"
                + " revoked_at=\(Output.time(event.revokedAt)) expires_at=\(Output.time(event.expiresAt))"
        line(
            "\(snapshot ? "snapshot" : isKeyRing ? "keys" : "revoked") epoch=\(epoch) seq=\(event.seq)"
                + " kind=\(event.kind)" + what
                + " head_seq=\(headSeq) applied_seq=\(appliedSeq) lag=\(lag) since_last_batch=\(timing.milliseconds)ms"
                + (timing.stale ? " stale" : "")
        )
    }

    private func printHeartbeat(timing: Timing) throws {
        printed += 1
        if json {
            try Output.printJSON(
                Self.withoutEvent(
                    type: "heartbeat", epoch: epoch, headSeq: headSeq, appliedSeq: appliedSeq, lag: lag, timing: timing
                )
            )
            return
        }
        line(
            "heartbeat epoch=\(epoch) head_seq=\(headSeq) applied_seq=\(appliedSeq) lag=\(lag)"
                + " since_last_batch=\(timing.milliseconds)ms" + (timing.stale ? " stale" : "")
        )
    }

    private func printStale(gap: Duration) throws {
        let timing = Timing(sinceLastBatch: gap, stale: true)
        if json {
            try Output.printJSON(
                Self.withoutEvent(
                    type: "stale", epoch: epoch, headSeq: headSeq, appliedSeq: appliedSeq, lag: lag, timing: timing)
            )
            return
        }
        line(
            "stale no batch for \(timing.milliseconds)ms epoch=\(epoch) head_seq=\(headSeq) applied_seq=\(appliedSeq)"
                + " lag=\(lag)")
    }

    private static func withoutEvent(
        type: String, epoch: UInt64, headSeq: UInt64, appliedSeq: UInt64, lag: UInt64, timing: Timing
    ) -> Output.Object {
        [
            "type": type,
            "epoch": epoch,
            "seq": NSNull(),
            "kind": NSNull(),
            "value": NSNull(),
            "revoked_at": NSNull(),
            "expires_at": NSNull(),
            "keys": NSNull(),
            "head_seq": headSeq,
            "applied_seq": appliedSeq,
            "lag_events": lag,
            "since_last_batch_ms": timing.milliseconds,
            "stale": timing.stale,
        ]
    }

    /// Prints a text line and flushes, so a pipe sees each line at once.
    private func line(_ text: String) {
        print(text)
        fflush(nil)
    }
}

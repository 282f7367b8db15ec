import ArgumentParser
import Foundation
import TokenWire

/// `tokenctl watch`: follows the revocation stream, with how far behind and how fresh the watcher is.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print revocations and key changes as they happen (a snapshot first, unless --since is given).",
        discussion: """
            Key ring changes come in the same log: a `keys` line (kind KEY_RING) lists every published key \
            by state after the change, and a revoked signing key is a revocation of kind KEY (its kid). \
            Each line shows the log's epoch (seqs count within it), the batch's head_seq, the seq applied so \
            far, the lag in events (head_seq - applied seq) and the milliseconds since the previous batch; a \
            batch after a gap longer than --stale-after is marked stale, and while no batch arrives a `stale` \
            line is printed every --stale-after seconds. To resume, give both --since and --epoch: a seq of \
            another epoch is answered with a snapshot.

            JSON: one object per line, {"type": "event" | "snapshot" | "heartbeat" | "stale", "epoch", \
            "seq", "kind", "value", "revoked_at", "expires_at", "keys", "head_seq", "applied_seq", "lag_events", \
            "since_last_batch_ms", "stale"}; "keys" is a list of {"key_id", "state", "algorithm", "not_before", \
            "not_after"} for KEY_RING and null otherwise; the event fields are null on heartbeat and stale lines.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Option(help: "Resume after this sequence number (of the log epoch --epoch).")
    var since: UInt64 = 0

    @Option(help: "The log epoch --since belongs to, as watch printed it.")
    var epoch: UInt64 = 0

    @Flag(help: "Also print heartbeats (batches without events).")
    var heartbeats = false

    @Option(help: "Seconds without a batch after which the stream counts as stale.")
    var staleAfter: Double = 5

    @Option(help: "Exit after N lines of events, snapshot entries and shown heartbeats (stale lines do not count).")
    var count: Int?

    func validate() throws {
        guard staleAfter > 0, staleAfter.isFinite else {
            throw ValidationError("--stale-after must be a positive number of seconds")
        }
        if let count, count <= 0 {
            throw ValidationError("--count must be positive")
        }
    }

    func run() async throws {
        let monitor = WatchMonitor(
            json: output.json,
            showHeartbeats: heartbeats,
            staleAfter: .milliseconds(Int64((staleAfter * 1_000).rounded(.up))),
            limit: count
        )
        let request = WatchRevocationsRequest(sinceSeq: since, epoch: epoch)
        try await connection.withClient { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await batch in client.watchRevocations(request) {
                        if try await monitor.receive(batch) {
                            return
                        }
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: await monitor.reportStaleness())
                    }
                }
                // The stream ends the watch (its end, its error or --count); the staleness loop never does.
                try await group.next()
                group.cancelAll()
            }
        }
    }
}

import ArgumentParser
import Foundation
import TokenWire

/// `tokenctl watch`: follows the revocation stream.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print revocations as they happen (a snapshot first, unless --since is given)."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Resume after this sequence number.")
    var since: UInt64 = 0

    @Flag(help: "Also print heartbeats.")
    var heartbeats = false

    func run() async throws {
        try await connection.withClient { client in
            for try await batch in client.watchRevocations(WatchRevocationsRequest(sinceSeq: since)) {
                for event in batch.events {
                    let label = batch.snapshot ? "snapshot" : "revoked"
                    print(
                        "\(label) seq=\(event.seq) kind=\(event.kind) value=\(event.value)"
                            + " revoked_at=\(Output.time(event.revokedAt)) expires_at=\(Output.time(event.expiresAt))"
                    )
                }
                if batch.events.isEmpty, heartbeats || batch.snapshot {
                    print("\(batch.snapshot ? "snapshot" : "heartbeat") head_seq=\(batch.headSeq)")
                }
                // Each batch is visible at once, also when the output is a pipe.
                fflush(nil)
            }
        }
    }
}

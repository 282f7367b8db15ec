import Synchronization
import TokenClient
import TokenRPC
import TokenWire

/// Eight callers revoking fresh token ids through one client as fast as `tokend` answers, recording
/// every acknowledged revocation and every failure: what a store outage or failover must not lose.
final class RevokingLoad: Sendable {
    private let running = Atomic<Bool>(true)
    /// Acknowledged revocations: seq → jti.
    private let acknowledged = Mutex<[UInt64: String]>([:])
    /// Failed calls by RPC code (`UInt32.max` for an error that is not an RPC error).
    private let failures = Mutex<[UInt32: Int]>([:])
    private let workers = Mutex<[Task<Void, Never>]>([])

    /// Starts revoking `<prefix>-<worker>-<n>` through `client`.
    init(client: TokenServiceClient, prefix: String) {
        let tasks = (0..<8).map { worker in
            Task { [self] in
                var index = 0
                while running.load(ordering: .relaxed) {
                    index += 1
                    let jti = "\(prefix)-\(worker)-\(index)"
                    do {
                        let answer = try await client.revoke(RevokeRequest(target: .tokenID(jti)))
                        acknowledged.withLock { $0[answer.seq] = jti }
                    } catch let error as RPCError {
                        failures.withLock { $0[UInt32(error.code.rawValue), default: 0] += 1 }
                        // Failures come back at once while the store is down: pace the retries.
                        try? await Task.sleep(for: .milliseconds(5))
                    } catch {
                        failures.withLock { $0[UInt32.max, default: 0] += 1 }
                    }
                }
            }
        }
        workers.withLock { $0 = tasks }
    }

    /// How many revocations were acknowledged so far.
    var acknowledgedCount: Int { acknowledged.withLock { $0.count } }

    /// How many calls failed with `code` so far.
    func failed(_ code: RPCError.Code) -> Int { failures.withLock { $0[UInt32(code.rawValue)] ?? 0 } }

    /// Stops the callers and waits for their last calls.
    /// - Returns: every acknowledged revocation (seq → jti), and the failures by RPC code.
    func stop() async -> (acknowledged: [UInt64: String], failures: [UInt32: Int]) {
        running.store(false, ordering: .relaxed)
        for worker in workers.withLock({ $0 }) {
            await worker.value
        }
        return (acknowledged.withLock { $0 }, failures.withLock { $0 })
    }
}

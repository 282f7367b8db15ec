import Logging
import NIOCore
import TokenCore
import TokenStore

extension RedisTokenStore: SharedTokenStore {
    /// How long one `XREAD BLOCK` waits for new events before asking again.
    static let followBlock = TimeAmount.milliseconds(1_000)
    /// How long the key ring lock is held at most (a crashed holder frees it by then).
    static let keyRingLockLease = TimeAmount.seconds(15)

    public var isReachable: Bool {
        client.isConnected
    }

    public func followsRevocations(within bound: Duration) -> Bool {
        let confirmed = followConfirmedAt.load(ordering: .relaxed)
        guard confirmed > 0 else { return false }
        let age = NIODeadline.now().uptimeNanoseconds &- confirmed
        return age <= UInt64(max(0, bound / .nanoseconds(1)))
    }

    public func followRevocations(_ revocationsStored: @escaping @Sendable () -> Void) async {
        // A connection of its own: a blocked XREAD would hold up every command pipelined behind it.
        var redis = client.configuration
        redis.commandTimeout = Self.followBlock + redis.commandTimeout
        let follower = RedisClient(configuration: redis, eventLoop: eventLoop, logger: logger)
        defer { follower.close() }
        var lastID: String?
        var wasConnected = false
        while !Task.isCancelled {
            do throws(RedisError) {
                if !wasConnected {
                    let head = try await follower.send(RedisCommand("GET", [RedisArgument(keys.seq)]))
                    if lastID == nil {
                        lastID = "\(head.int64 ?? 0)-0"
                    }
                    // Whatever was stored while this instance could not follow is read now.
                    wasConnected = true
                    revocationsStored()
                    followConfirmedAt.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
                }
                // Reopens the command connection after an outage even when no call needs it, so
                // that Health says serving again without waiting for a write.
                if !client.isConnected {
                    _ = try? await client.connection().get()
                }
                if client.configuration.replicasToWait > 0 {
                    try? await refreshConnectedReplicas()
                }
                let reply = try await follower.send(
                    RedisCommand(
                        "XREAD",
                        [
                            "COUNT", 1_000, "BLOCK", RedisArgument(Self.followBlock.nanoseconds / 1_000_000), "STREAMS",
                            RedisArgument(keys.events), RedisArgument(lastID ?? "0-0"),
                        ]))
                if case .error(let message) = reply {
                    throw RedisError.server(message)
                }
                if let newest = Self.lastEntryID(reply) {
                    lastID = newest
                    revocationsStored()
                }
                // An answer (events, or none within the block) confirms nothing else was stored.
                followConfirmedAt.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
            } catch {
                if wasConnected {
                    logger.warning("following revocations failed; reconnecting", metadata: ["error": "\(error)"])
                }
                wasConnected = false
                do {
                    try await Task.sleep(for: .milliseconds(50))
                } catch {
                    return
                }
            }
        }
    }

    /// The id of the last entry of an `XREAD` reply (`[[stream, [[id, fields], ...]]]`).
    private static func lastEntryID(_ reply: RedisValue) -> String? {
        guard let streams = reply.array, let stream = streams.first?.array, stream.count == 2,
            let entries = stream[1].array, let last = entries.last?.array, let id = last.first?.string
        else { return nil }
        return id
    }

    public func withKeyRingLock<Value: Sendable>(
        _ body: @Sendable () async throws -> Value
    ) async throws -> Value? {
        let token: String
        do {
            token = Base64URL.encode(try SecureRandom.bytes(16))
        } catch {
            throw TokenStoreError.unavailable("no randomness for the key ring lock")
        }
        let lock = RedisArgument(keys.keyRingLock)
        let taken = try await sendChecked(
            RedisCommand(
                "SET",
                [lock, RedisArgument(token), "NX", "PX", RedisArgument(Self.keyRingLockLease.nanoseconds / 1_000_000)]))
        guard taken == .status("OK") else { return nil }
        defer {
            // Released only by its holder: a lease that ran out may belong to another instance now.
            let release = RedisCommand(
                "EVAL",
                [
                    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                    1, lock, RedisArgument(token),
                ])
            _ = client.sendAll([release])
        }
        return try await body()
    }
}

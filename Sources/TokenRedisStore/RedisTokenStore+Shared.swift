import Logging
import NIOCore
import TokenCore
import TokenStore

extension RedisTokenStore: SharedTokenStore {
    /// How long one `XREAD BLOCK` waits for a new event: the longest gap between two rounds while
    /// Redis answers (the hub stops vouching 2 s after the last one).
    static let followBlock = TimeAmount.milliseconds(500)
    /// How long the key ring lock is held at most (a crashed holder frees it by then).
    static let keyRingLockLease = TimeAmount.seconds(15)

    public var isReachable: Bool {
        client.isConnected
    }

    public func followRevocations(_ round: @escaping @Sendable (any RevocationLogReader) async -> UInt64?) async {
        // A connection of its own: a blocked XREAD would hold up every command pipelined behind it,
        // and the rounds hear from Redis on the very connection that waits for its events.
        var redis = client.configuration
        redis.commandTimeout = Self.followBlock + redis.commandTimeout
        let follower = RedisClient(configuration: redis, eventLoop: eventLoop, logger: logger)
        defer { follower.close() }
        let reader = RedisLogReader(store: self, client: follower)
        var following = false
        var replicasAskedAt: ContinuousClock.Instant?
        while !Task.isCancelled {
            // Reopens the command connection after an outage even when no call needs it, so that
            // Health says serving again without waiting for a write.
            if !client.isConnected {
                _ = try? await client.connection().get()
            }
            do throws(TokenStoreError) {
                guard let head = await round(reader) else {
                    throw .unavailable("the revocation log could not be read")
                }
                // After the round, so that new events never wait for it; about once a second.
                if client.configuration.replicasToWait > 0,
                    replicasAskedAt.map({ ContinuousClock.now - $0 >= .seconds(1) }) ?? true
                {
                    replicasAskedAt = .now
                    try? await refreshConnectedReplicas()
                }
                if !following {
                    logger.info("following the revocation log", metadata: ["seq": "\(head)"])
                    following = true
                }
                // Answers when an event past the head is stored, or empty after the block.
                let wait = RedisCommand(
                    "XREAD",
                    [
                        "COUNT", 1, "BLOCK", RedisArgument(Self.followBlock.nanoseconds / 1_000_000), "STREAMS",
                        RedisArgument(keys.events), RedisArgument("\(head)-0"),
                    ])
                _ = try await sendAll([wait], on: follower)
            } catch {
                if following {
                    logger.warning("following the revocation log failed; reconnecting", metadata: ["error": "\(error)"])
                }
                following = false
                do {
                    try await Task.sleep(for: .milliseconds(50))
                } catch {
                    return
                }
            }
        }
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
        let taken = try await send(
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

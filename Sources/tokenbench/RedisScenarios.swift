import ArgumentParser
import NIOPosix
import Synchronization
import TokenRedisStore

/// Redis on its own, the baselines of the Redis design: one `GET` per request (`session.redis`) and
/// a durable `SET` (`redis.set`).
struct RedisScenarios {
    let session: BenchSession

    /// The seed's Redis-session design: one `GET session:<id>` per request, from one caller in a
    /// loop (as `verify.warm` runs), over 10,000 stored sessions.
    func sessionRedis() async throws -> ScenarioResult {
        let connection = try await redisConnection()
        defer { connection.close() }
        let stored = String(repeating: "x", count: 200)
        _ = try await connection.sendAll((0..<10_000).map { RedisCommand("SET", "bench:session:\($0)", stored) })
        var latency = LatencyRecorder()
        var rounds: [Double] = []
        let clock = ContinuousClock()
        var index = 0
        for _ in 0..<session.settings.rounds {
            let start = clock.now
            var count = 0
            while clock.now - start < session.settings.duration {
                let before = clock.now
                guard try await connection.send(RedisCommand("GET", "bench:session:\(index)")).bytes != nil else {
                    throw ValidationError("a session was missing")
                }
                latency.record(clock.now - before)
                index = index + 1 == 10_000 ? 0 : index + 1
                count += 1
            }
            rounds.append(Double(count) / BenchSession.seconds(clock.now - start))
        }
        let result = ScenarioResult(
            name: "session.redis", opsPerSecond: rounds.sorted()[rounds.count / 2], latency: latency,
            note: "GET session:<id> on redis-server, one caller, 10,000 sessions")
        return session.rates["verify.warm"].map { result.compared(to: "verify.warm", rate: $0) } ?? result
    }

    /// `SET` from 64 callers on one pipelined connection: what a durable write costs Redis itself
    /// (`appendfsync always` when the server is configured so, as `tools/test`'s is).
    func redisSet() async throws -> ScenarioResult {
        let connection = try await redisConnection()
        defer { connection.close() }
        let counter = Atomic<Int>(0)
        let (rate, latency) = try await session.closedLoop(callers: 64) {
            let index = counter.add(1, ordering: .relaxed).newValue
            _ = try await connection.send(RedisCommand("SET", "bench:set:\(index)", "1"))
        }
        return ScenarioResult(
            name: "redis.set", opsPerSecond: rate, latency: latency,
            note: "SET on redis-server, 64 callers on one connection")
    }

    private func redisConnection() async throws -> RedisConnection {
        guard let url = session.settings.redisURL else { throw ValidationError("this scenario needs --redis URL") }
        return try await RedisConnection.connect(
            try RedisConfiguration(url: url), on: MultiThreadedEventLoopGroup.singleton.next())
    }
}

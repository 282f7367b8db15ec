import TokenCore
import TokenStore

/// Reading the revocation log, and its identity: the epoch is the key `revocations:epoch`, the head
/// the shared counter `revocations:seq`, the log the stream `revocations:events` (ids `<seq>-0`).
extension RedisTokenStore {
    /// Sets the epoch to ARGV[2] when it is ARGV[1] ("0" for none); returns the epoch in force.
    static let startEpochScript = """
        local current = redis.call('GET', KEYS[1]) or '0'
        if current ~= ARGV[1] then return current end
        redis.call('SET', KEYS[1], ARGV[2])
        return ARGV[2]
        """

    public func revocationEvents(after seq: UInt64, limit: Int) async throws(TokenStoreError) -> RevocationEventPage {
        try await RedisLogReader(store: self, client: client).revocationEvents(after: seq, limit: limit)
    }

    public func activeRevocations(now: Int64) async throws(TokenStoreError) -> RevocationSnapshot {
        let head = try await revocationLogHead()
        var latest: [String: RevocationEvent] = [:]
        var offset = 0
        let page = 10_000
        while true {
            let reply = try await send(
                RedisCommand(
                    "ZRANGEBYSCORE",
                    [
                        RedisArgument(keys.liveEvents), RedisArgument(now), "+inf",
                        "WITHSCORES", "LIMIT", RedisArgument(offset), RedisArgument(page),
                    ]))
            guard let flat = reply.array, flat.count % 2 == 0 else {
                throw .corrupt("the live revocation index answered no pairs")
            }
            for index in stride(from: 0, to: flat.count, by: 2) {
                let event = try Self.liveEvent(flat[index], score: flat[index + 1])
                guard event.seq <= head.seq else { continue }
                let target = "\(Self.kindCode(event.kind))|\(event.value)"
                if let known = latest[target], known.seq > event.seq { continue }
                latest[target] = event
            }
            guard flat.count == page * 2 else { break }
            offset += page
        }
        let events = latest.values.sorted { $0.seq < $1.seq }
        return RevocationSnapshot(events: events, headSeq: head.seq, epoch: head.epoch)
    }

    public func revocationLogHead() async throws(TokenStoreError) -> RevocationLogHead {
        try await RedisLogReader(store: self, client: client).revocationLogHead()
    }

    public func startRevocationLogEpoch(replacing epoch: UInt64) async throws(TokenStoreError) -> UInt64 {
        let fresh = try RevocationLogHead.randomEpoch()
        let reply = try await send(
            RedisCommand(
                "EVAL",
                [
                    RedisArgument(Self.startEpochScript), 1, RedisArgument(keys.epoch), RedisArgument("\(epoch)"),
                    RedisArgument("\(fresh)"),
                ]))
        let inForce = try counter(reply, "the log epoch")
        // A new epoch another instance acts on must survive the loss of the master, as a revocation does.
        if inForce == fresh {
            try await waitForReplicas()
        }
        return inForce
    }

    /// An event from a stream entry: `[id, [field, value, ...]]`, the id being `<seq>-0`.
    fileprivate static func streamEvent(_ entry: RedisValue) throws(TokenStoreError) -> RevocationEvent {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let flat = parts[1].array,
            flat.count % 2 == 0, id.hasSuffix("-0"), let seq = UInt64(id.dropLast(2))
        else { throw .corrupt("a revocation stream entry is malformed") }
        var fields: [String: RedisValue] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let name = flat[index].string else { throw .corrupt("a stream field name is not text") }
            fields[name] = flat[index + 1]
        }
        guard let kind = fields["kind"]?.string.flatMap(Self.kind(code:)), let value = fields["value"]?.string,
            let revokedAt = fields["revoked_at"]?.int64, let expiresAt = fields["expires_at"]?.int64
        else { throw .corrupt("a revocation stream entry lacks a field") }
        return RevocationEvent(seq: seq, kind: kind, value: value, revokedAt: revokedAt, expiresAt: expiresAt)
    }

    /// An event from the live index: member `<seq>|<kind>|<revoked_at>|<value>`, score expires_at.
    private static func liveEvent(_ member: RedisValue, score: RedisValue) throws(TokenStoreError) -> RevocationEvent {
        guard let text = member.string, let expiresAt = score.int64 else {
            throw .corrupt("a live revocation entry is malformed")
        }
        let parts = text.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let seq = UInt64(parts[0]), let kind = Self.kind(code: String(parts[1])),
            let revokedAt = Int64(parts[2])
        else { throw .corrupt("a live revocation entry is malformed") }
        return RevocationEvent(
            seq: seq, kind: kind, value: String(parts[3]), revokedAt: revokedAt, expiresAt: expiresAt)
    }
}

/// Reads the revocation log through one Redis client: the store's own, or its follower's.
struct RedisLogReader: RevocationLogReader {
    let store: RedisTokenStore
    let client: RedisClient
    var keys: RedisStoreKeys { store.keys }

    func revocationEvents(after seq: UInt64, limit: Int) async throws(TokenStoreError) -> RevocationEventPage {
        let count = max(0, min(limit, RedisTokenStore.maxEventsPerRead))
        // The events first, then the purge mark: a purge between the two reads makes the page
        // incomplete rather than silently short.
        var commands: [RedisCommand] = []
        if count > 0 {
            commands.append(
                RedisCommand(
                    "XRANGE",
                    [
                        RedisArgument(keys.events), RedisArgument("(\(seq)-0"), "+", "COUNT",
                        RedisArgument(count),
                    ]))
        }
        commands.append(RedisCommand("GET", [RedisArgument(keys.purgedSeq)]))
        commands.append(RedisCommand("GET", [RedisArgument(keys.epoch)]))
        let replies = try await send(commands)
        var events: [RevocationEvent] = []
        if count > 0 {
            guard let entries = replies[0].array else { throw .corrupt("XRANGE did not answer an array") }
            events = try entries.map(RedisTokenStore.streamEvent)
        }
        let purged = try counter(replies[replies.count - 2], "the purge mark")
        let epoch = try counter(replies[replies.count - 1], "the log epoch")
        return RevocationEventPage(events: events, isComplete: seq >= purged, epoch: epoch)
    }

    func revocationLogHead() async throws(TokenStoreError) -> RevocationLogHead {
        let replies = try await send([
            RedisCommand("GET", [RedisArgument(keys.epoch)]), RedisCommand("GET", [RedisArgument(keys.seq)]),
        ])
        return RevocationLogHead(
            epoch: try counter(replies[0], "the log epoch"), seq: try counter(replies[1], "the revocation seq"))
    }

    private func send(_ commands: [RedisCommand]) async throws(TokenStoreError) -> [RedisValue] {
        try await store.sendAll(commands, on: client)
    }
}

/// A counter kept as a decimal string; a missing key is 0.
func counter(_ reply: RedisValue, _ name: String) throws(TokenStoreError) -> UInt64 {
    if reply.isNull { return 0 }
    guard let value = reply.int64.flatMap(UInt64.init(exactly:)) else { throw .corrupt("\(name) is not a number") }
    return value
}

import TokenCore
import TokenStore

/// The key ring: sealed with the master key (AES-GCM) under `keyring`, its change logged as
/// revocation-log events by the same script (`saveKeyRing`).
extension RedisTokenStore {
    public func loadSigningKeys() async throws(TokenStoreError) -> StoredKeyRing {
        let reply = try await send(RedisCommand("MGET", [RedisArgument(keys.keyRing), RedisArgument(keys.keyRingSeq)]))
        guard let values = reply.array, values.count == 2 else { throw .corrupt("MGET answered \(reply)") }
        if values[0].isNull { return StoredKeyRing(keys: [], seq: 0) }
        guard let sealed = values[0].bytes else { throw .corrupt("the key ring is not a string") }
        let seq = try counter(values[1], "the key ring's seq")
        guard let masterKey = configuration.masterKey else {
            throw .unavailable("a key ring is stored but no master key was given to open it")
        }
        let plaintext: [UInt8]
        do {
            plaintext = try AESGCM.open(key: masterKey, sealed: sealed, associatedData: keys.keyRing)
        } catch {
            throw .corrupt("the key ring cannot be opened with this master key")
        }
        return StoredKeyRing(keys: try KeyRingCoding.decode(plaintext), seq: seq)
    }

    public func saveSigningKeys(
        _ keys: [StoredSigningKey],
        logging change: KeyRingChange
    ) async throws(TokenStoreError) -> [RevocationEvent] {
        try StoredSigningKey.checkRing(keys)
        guard let masterKey = configuration.masterKey else {
            throw .rejected("the Redis store needs a master key to store signing keys")
        }
        try change.check(maxValueLength: Self.maxValueLength)
        let sealed: [UInt8]
        do {
            sealed = try AESGCM.seal(
                key: masterKey, plaintext: KeyRingCoding.encode(keys), associatedData: self.keys.keyRing)
        } catch {
            throw .rejected("cannot seal the key ring: \(error)")
        }
        var scriptKeys = [
            self.keys.keyRing, self.keys.keyRingSeq, self.keys.seq, self.keys.events, self.keys.liveEvents,
            self.keys.purgedSeq,
        ]
        var arguments = [
            RedisArgument(sealed), RedisArgument(change.publishedRing), RedisArgument(change.changedAt),
            RedisArgument(change.revokedKeys.count),
        ]
        for revocation in change.revokedKeys {
            scriptKeys.append(self.keys.revoked(.signingKey, revocation.value))
            arguments += [
                RedisArgument(revocation.value), RedisArgument(revocation.revokedAt),
                RedisArgument(revocation.expiresAt), RedisArgument(revocation.reason),
                RedisArgument(ttlMilliseconds(revocation.expiresAt)),
            ]
        }
        let reply = try await run(.saveKeyRing, keys: scriptKeys, arguments: arguments)
        let seqs = reply.array?.compactMap { $0.int64.flatMap(UInt64.init(exactly:)) } ?? []
        guard seqs.count == change.revokedKeys.count + 1, let ringSeq = seqs.last else {
            throw .corrupt("the key ring script answered \(reply)")
        }
        try await waitForReplicas()
        var events = zip(change.revokedKeys, seqs).map { revocation, seq in
            RevocationEvent(
                seq: seq, kind: .signingKey, value: revocation.value, revokedAt: revocation.revokedAt,
                expiresAt: revocation.expiresAt)
        }
        events.append(
            RevocationEvent(
                seq: ringSeq, kind: .keyRing, value: change.publishedRing, revokedAt: change.changedAt,
                expiresAt: .max))
        return events
    }
}

extension RedisStoreScripts {
    /// KEYS: key ring, key ring seq, seq, event stream, live events index, purged seq, then the public
    /// revocation key of each revoked key.
    /// ARGV: sealed ring, published ring, changed at, revoked keys (n), then per revoked key: kid,
    /// revoked at, expires at, reason, ttl ms.
    /// Stores the ring and logs the change: a `k` revocation event per revoked key (indexed, with its
    /// public key), then an `r` event holding the published ring, unindexed: it stands until the next
    /// one, which deletes it from the stream and records it as purged (a watcher resuming before it
    /// gets a snapshot, which carries the latest ring). Returns the events' seqs, the ring's last.
    static let saveKeyRing = """
        redis.call('SET', KEYS[1], ARGV[1])
        local seqs = {}
        for i = 0, tonumber(ARGV[4]) - 1 do
            local a = 5 + i * 5
            local seq = redis.call('INCR', KEYS[3])
            redis.call('XADD', KEYS[4], seq .. '-0', 'kind', 'k', 'value', ARGV[a], 'revoked_at', ARGV[a + 1],
                'expires_at', ARGV[a + 2], 'reason', ARGV[a + 3])
            redis.call('ZADD', KEYS[5], ARGV[a + 2], seq .. '|k|' .. ARGV[a + 1] .. '|' .. ARGV[a])
            redis.call('SET', KEYS[7 + i], ARGV[a + 1], 'PX', ARGV[a + 4])
            seqs[#seqs + 1] = seq
        end
        local seq = redis.call('INCR', KEYS[3])
        redis.call('XADD', KEYS[4], seq .. '-0', 'kind', 'r', 'value', ARGV[2], 'revoked_at', ARGV[3],
            'expires_at', '9223372036854775807', 'reason', 'key ring changed')
        local previous = tonumber(redis.call('GET', KEYS[2]) or '')
        if previous then
            redis.call('XDEL', KEYS[4], string.format('%d', previous) .. '-0')
            local purged = tonumber(redis.call('GET', KEYS[6]) or '0') or 0
            if previous > purged then redis.call('SET', KEYS[6], string.format('%d', previous)) end
        end
        redis.call('SET', KEYS[2], string.format('%d', seq))
        seqs[#seqs + 1] = seq
        return seqs
        """
}

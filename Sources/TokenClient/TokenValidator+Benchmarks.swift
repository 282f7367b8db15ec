import TokenCore
import TokenWire

/// Entry points for `tokenbench` only, outside the public API: drive the mirror as the stream and
/// the maintenance task would, and measure the cache's memory.
extension TokenValidator {
    /// Applies one batch as if `WatchRevocations` had delivered it.
    @_spi(Benchmarks)
    public func applyForBenchmark(_ batch: RevocationBatch) {
        _ = apply(batch)
    }

    /// Drops what the maintenance task drops at `now`: expired revocations and cache entries.
    @_spi(Benchmarks)
    public func pruneForBenchmark(now: Int64) {
        prune(now: now)
    }

    /// A verified-token cache of `digests.count` entries, one per digest, as verifications fill it;
    /// returned only to be kept alive while its memory is read.
    @_spi(Benchmarks)
    public static func filledCacheForBenchmark(_ digests: [SHA256Digest]) -> AnyObject {
        let cache = VerifiedTokenCache(capacity: digests.count)
        for (index, digest) in digests.enumerated() {
            let number = Int64(index)
            cache.insert(
                digest,
                VerifiedTokenCache.Entry(
                    expiresAt: 1_800_000_900 + number, notBefore: 1_800_000_000, issuedAt: 1_800_000_000,
                    hasDefaultAudience: true,
                    probe: RevocationProbe(
                        tokenID: TokenID(high: digest.words.0, low: digest.words.1),
                        sessionID: TokenID(high: digest.words.2, low: digest.words.3), subjectFingerprint: index,
                        issuedAt: 1_800_000_000),
                    checkedGeneration: 1, revoked: false))
        }
        return cache
    }
}

import TokenCore

/// Where the revocation log stands: its epoch and the newest `seq` handed out in it.
public struct RevocationLogHead: Sendable, Hashable {
    /// The log's identity (0: the store has none yet, or lost it with its data).
    public var epoch: UInt64
    /// The newest sequence number handed out (0 when none).
    public var seq: UInt64

    /// Creates a head.
    public init(epoch: UInt64, seq: UInt64) {
        self.epoch = epoch
        self.seq = seq
    }

    /// A fresh epoch: 53 random bits, never 0 (so it survives the stores' signed integers and JSON
    /// numbers unchanged).
    /// - Throws: `unavailable` when the random generator fails.
    public static func randomEpoch() throws(TokenStoreError) -> UInt64 {
        var epoch: UInt64 = 0
        while epoch == 0 {
            do {
                try SecureRandom.fill(&epoch)
            } catch {
                throw .unavailable("no randomness for a revocation log epoch")
            }
            epoch &= (1 << 53) - 1
        }
        return epoch
    }
}

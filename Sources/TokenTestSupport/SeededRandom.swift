import Foundation

/// A small deterministic random number generator (SplitMix64) for reproducible randomized tests.
///
/// The same seed always yields the same sequence on every platform, so a failing run can be replayed by
/// setting its seed (see ``seed(fromEnvironment:default:)``). Not for cryptographic use.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    /// The name of the environment variable that overrides the default seed of randomized tests.
    public static let seedVariable = "TOKEN_FUZZ_SEED"

    private var state: UInt64

    /// Creates a generator.
    /// - Parameter seed: the starting state; equal seeds give equal sequences.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// The next 64 random bits.
    /// - Returns: a uniformly distributed value.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Random bytes.
    /// - Parameter count: how many bytes.
    /// - Returns: `count` uniformly distributed bytes.
    public mutating func bytes(count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(max(count, 0))
        while result.count < count {
            var word = next()
            for _ in 0..<min(8, count - result.count) {
                result.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return result
    }

    /// The seed for a randomized test: the environment variable's value when it is set, else `defaultSeed`.
    ///
    /// The variable holds a decimal number or a hexadecimal one with a `0x` prefix.
    /// - Parameters:
    ///   - name: the environment variable to read; ``seedVariable`` unless told.
    ///   - defaultSeed: the seed when the variable is not set.
    /// - Returns: the seed, or nil when the variable is set but is not a valid 64-bit number.
    public static func seed(fromEnvironment name: String = seedVariable, default defaultSeed: UInt64) -> UInt64? {
        guard let text = ProcessInfo.processInfo.environment[name]?.trimmingCharacters(in: .whitespaces) else {
            return defaultSeed
        }
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            return UInt64(text.dropFirst(2), radix: 16)
        }
        return UInt64(text, radix: 10)
    }
}

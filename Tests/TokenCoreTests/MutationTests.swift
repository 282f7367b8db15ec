import Testing
import TokenCore

/// Random damage to valid tokens (deterministic seed): nothing crashes and nothing verifies.
@Suite struct MutationTests {
    /// SplitMix64, so every run damages the tokens the same way.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: TokenAlgorithm.allCases)
    func damagedTokensNeverVerify(algorithm: TokenAlgorithm) throws {
        let key = try SigningKey.generate(algorithm)
        let keys = KeySet(keys: ["k": key.publicKey])
        let verifier = TokenVerifier(issuer: TokenFixtures.issuer)
        let token = Array(try TokenMinter().mint(claims: try TokenFixtures.claims(), key: key, keyID: "k").utf8)
        #expect(
            verifier.verify(String(decoding: token, as: UTF8.self), keys: keys, audience: nil, now: TokenFixtures.now)
                .isValid)
        var random = SeededGenerator(state: algorithm == .edDSA ? 1 : 2)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u{0}\u{ff}".utf8)
        for _ in 0..<1500 {
            var damaged = token
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<damaged.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0:
                    let replacement = alphabet.randomElement(using: &random) ?? 0
                    damaged[position] = replacement == damaged[position] ? replacement ^ 1 : replacement
                case 1: damaged.remove(at: position)
                case 2: damaged.insert(alphabet.randomElement(using: &random) ?? 0, at: position)
                default: damaged = Array(damaged.prefix(position))
                }
                if damaged.isEmpty { damaged = [0x2E] }
            }
            guard damaged != token else { continue }
            let result = verifier.verify(
                String(decoding: damaged, as: UTF8.self), keys: keys, audience: nil, now: TokenFixtures.now)
            #expect(!result.isValid, "accepted \(String(decoding: damaged, as: UTF8.self))")
        }
    }
}

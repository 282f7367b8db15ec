import Testing
import TokenTestSupport
import TokenWire

/// Random and mutated inputs through the real unpacker of every message type: no crash, and every
/// accepted input re-serializes and re-parses to an equal value. The seed can be replaced through the
/// environment variable `TOKEN_FUZZ_SEED` (decimal, or hexadecimal with `0x`) to replay or vary a run.
@Suite struct RandomizedDecoderTests {
    static let defaultSeed: UInt64 = 0x7043_E25E_ED5E_ED01
    /// Per message type; 23 types make 46,000 inputs a run.
    static let inputsPerType = 2_000

    @Test(arguments: FuzzTarget.all.enumerated().map { ($0.offset, $0.element) })
    func randomInputsNeverBreakTheDecoder(index: Int, target: FuzzTarget) throws {
        let seed = try #require(
            SeededRandom.seed(default: Self.defaultSeed),
            "\(SeededRandom.seedVariable) must be a 64-bit number"
        )
        let pool = FuzzTarget.all.flatMap(\.samples)
        var generator = FuzzInputGenerator(seed: seed &+ UInt64(index), pool: pool)

        for sample in target.samples {
            #expect(target.run(sample) == .stable, "a valid \(target.name) must parse")
        }
        var accepted = 0
        var rejected = 0
        for _ in 0..<Self.inputsPerType {
            let input = generator.next(from: target.samples)
            switch target.run(input) {
            case .stable:
                accepted += 1
            case .rejected:
                rejected += 1
            case .unstable(let problem):
                Issue.record("seed \(seed): \(target.name) input \(input): \(problem)")
            }
        }
        // Both paths must have been exercised, or the test proves little.
        #expect(accepted > 50, "seed \(seed): only \(accepted) of the inputs parsed")
        #expect(rejected > 50, "seed \(seed): only \(rejected) of the inputs were rejected")
    }

    @Test func theSameSeedGivesTheSameInputs() {
        let samples = [MessageSamples.issueRequest.serializedBytes()]
        var first = FuzzInputGenerator(seed: 7, pool: samples)
        var second = FuzzInputGenerator(seed: 7, pool: samples)
        var third = FuzzInputGenerator(seed: 8, pool: samples)
        let a = (0..<20).map { _ in first.next(from: samples) }
        #expect(a == (0..<20).map { _ in second.next(from: samples) })
        #expect(a != (0..<20).map { _ in third.next(from: samples) })
    }
}

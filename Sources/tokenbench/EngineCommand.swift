import ArgumentParser
import TokenCore

/// Measures minting and full verification against raw libcrypto signing and verifying with the
/// same key and the same bytes, in the same process and run, and prints the ratios.
struct EngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Token minting and verification rates against raw EVP sign and verify rates."
    )

    @Option(help: "Seconds per measurement in each round.")
    var seconds: Double = 0.5

    @Option(help: "Measurement rounds; the median ratio is reported.")
    var rounds: Int = 9

    @Option(help: "Algorithms to measure (EdDSA, ES256).")
    var algorithm: [String] = TokenAlgorithm.allCases.map(\.rawValue)

    func validate() throws {
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
        guard rounds > 0, rounds <= 100 else { throw ValidationError("--rounds must be in 1...100") }
        for name in algorithm where TokenAlgorithm(rawValue: name) == nil {
            throw ValidationError("unknown algorithm \(name)")
        }
    }

    func run() throws {
        print("operation        rate/s   raw EVP/s   ratio  (target)   [median of \(rounds) rounds]")
        for name in algorithm {
            guard let algorithm = TokenAlgorithm(rawValue: name) else { continue }
            try measure(algorithm)
        }
    }

    private func measure(_ algorithm: TokenAlgorithm) throws {
        let issuer = "https://bench.example"
        let key = try SigningKey.generate(algorithm)
        let keyID = key.publicKey.thumbprint
        let keys = KeySet(keys: [keyID: key.publicKey])
        let now: Int64 = 1_800_000_000
        let claims = Claims(
            issuer: issuer,
            subject: "user-123456",
            audience: ["api"],
            scopes: ["read", "write"],
            tokenID: try TokenID.random().text,
            sessionID: try TokenID.random().text,
            issuedAt: now,
            expiresAt: now + 900,
            notBefore: now
        )
        let minter = TokenMinter()
        let verifier = TokenVerifier(issuer: issuer)
        let token = try minter.mint(claims: claims, key: key, keyID: keyID)
        guard verifier.verify(token, keys: keys, audience: "api", now: now).isValid else {
            throw ValidationError("the benchmark token does not verify")
        }
        let raw = try RawEVP(pkcs8DER: key.pkcs8DER(), algorithm: algorithm, message: RawEVP.signingInput(of: token))

        // Raw and full runs alternate within each round, so a change in machine load affects both
        // sides of a ratio alike; the median ratio over the rounds is reported.
        var mint: [Sample] = []
        var verify: [Sample] = []
        for _ in 0..<rounds {
            let rawSign = try rate { try raw.sign() }
            let minted = try rate { _ = try minter.mint(claims: claims, key: key, keyID: keyID) }
            mint.append(Sample(rate: minted, raw: rawSign))
            let rawVerify = try rate { try raw.verify() }
            let verified = try rate {
                guard verifier.verify(token, keys: keys, audience: "api", now: now).isValid else {
                    throw ValidationError("verification failed")
                }
            }
            verify.append(Sample(rate: verified, raw: rawVerify))
        }
        report("\(algorithm.rawValue) mint", mint, target: 0.80)
        report("\(algorithm.rawValue) verify", verify, target: 0.90)
    }

    private struct Sample {
        let rate: Double
        let raw: Double
        var ratio: Double { rate / raw }
    }

    /// Operations per second of `body` over one round.
    private func rate(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let limit = Duration.milliseconds(Int64(seconds * 1000))
        var count = 0
        var elapsed = Duration.zero
        while elapsed < limit {
            for _ in 0..<50 { try body() }
            count += 50
            elapsed = clock.now - start
        }
        let (wholeSeconds, attoseconds) = elapsed.components
        return Double(count) / (Double(wholeSeconds) + Double(attoseconds) * 1e-18)
    }

    private func report(_ label: String, _ samples: [Sample], target: Double) {
        let sorted = samples.sorted { $0.ratio < $1.ratio }
        let median = sorted[sorted.count / 2]
        let verdict = median.ratio >= target ? "ok" : "BELOW"
        let columns = [
            label.padding(13),
            String(Int(median.rate)).leftPadding(9),
            String(Int(median.raw)).leftPadding(11),
            String(Int((median.ratio * 100).rounded())).leftPadding(6) + "%",
            "(≥ \(Int(target * 100))% \(verdict))",
        ]
        print(columns.joined(separator: " "))
    }
}

extension String {
    func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - count))
    }

    func leftPadding(_ width: Int) -> String {
        String(repeating: " ", count: max(0, width - count)) + self
    }
}

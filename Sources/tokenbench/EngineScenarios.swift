import ArgumentParser
import TokenClient
import TokenCore

/// The engine on one core: the raw EVP limits, minting, and `TokenValidator.verify` on fresh and
/// on warm tokens (`sign.raw`, `verify.raw`, `mint`, `verify.local`, `verify.mirror`, `verify.warm`).
struct EngineScenarios {
    let session: BenchSession

    /// `sign.raw` or `verify.raw`: the EVP call alone, on one core.
    func raw(_ name: String, operation: RawEVPRate.Operation) throws -> ScenarioResult {
        var latency = LatencyRecorder()
        let rate = try BenchSession.timedRate(for: session.settings.duration, latency: &latency) {
            switch operation {
            case .sign: try session.raw.sign()
            case .verify: try session.raw.verify()
            }
        }
        return ScenarioResult(name: name, opsPerSecond: rate, latency: latency, note: "EVP on one core: the limit")
    }

    func mint() throws -> ScenarioResult {
        let claims = Claims(
            issuer: "https://bench.example", subject: "user-123456", audience: ["api"], scopes: ["read"],
            tokenID: try TokenID.random().text, sessionID: try TokenID.random().text, issuedAt: 1_800_000_000,
            expiresAt: 1_800_000_900, notBefore: 1_800_000_000)
        let minter = TokenMinter()
        let keyID = session.baselineKey.publicKey.thumbprint
        var latency = LatencyRecorder()
        let rate = try BenchSession.timedRate(for: session.settings.duration, latency: &latency) {
            _ = try minter.mint(claims: claims, key: session.baselineKey, keyID: keyID)
        }
        return ScenarioResult(
            name: "mint", opsPerSecond: rate, latency: latency, note: "a whole access token, one core"
        )
        .compared(to: "sign.raw", rate: try session.rawRate("sign.raw", .sign))
    }

    /// Rounds of raw verification alternating with `verify` over tokens the validator never saw;
    /// the median ratio is reported with that round's figures.
    func uniqueTokens(_ name: String, note: String) async throws -> ScenarioResult {
        var rounds: [(rate: Double, raw: Double, latency: LatencyRecorder)] = []
        let perRound = max(
            200,
            Int((try session.rawRate("verify.raw", .verify)) * BenchSession.seconds(session.settings.duration) * 1.5))
        for _ in 0..<session.settings.rounds {
            let tokens = try await session.issue(perRound).map(\.accessToken)
            let rawRate = try BenchSession.rate(for: session.settings.duration) { try session.raw.verify() }
            var latency = LatencyRecorder()
            let clock = ContinuousClock()
            let start = clock.now
            var verified = 0
            for token in tokens {
                let before = clock.now
                guard await session.validator.verify(token).isValid else {
                    throw ValidationError("a fresh token did not verify")
                }
                latency.record(clock.now - before)
                verified += 1
                if clock.now - start >= session.settings.duration { break }
            }
            rounds.append((Double(verified) / BenchSession.seconds(clock.now - start), rawRate, latency))
        }
        let median = rounds.sorted { $0.rate / $0.raw < $1.rate / $1.raw }[rounds.count / 2]
        return ScenarioResult(name: name, opsPerSecond: median.rate, latency: median.latency, note: note)
            .compared(to: "verify.raw", rate: median.raw)
    }

    /// 10,000 live tokens each presented many times, with the revocations mirrored: throughput on
    /// one core, then a pass that times each call.
    func warm() async throws -> ScenarioResult {
        let tokens = try await session.verifiedLiveTokens()
        let clock = ContinuousClock()
        var index = 0
        var rates: [Double] = []
        for _ in 0..<session.settings.rounds {
            let start = clock.now
            var count = 0
            while clock.now - start < session.settings.duration {
                for _ in 0..<1_000 {
                    guard await session.validator.verify(tokens[index]).isValid else {
                        throw ValidationError("a warm token failed")
                    }
                    index = index + 1 == tokens.count ? 0 : index + 1
                }
                count += 1_000
            }
            rates.append(Double(count) / BenchSession.seconds(clock.now - start))
        }
        var latency = LatencyRecorder()
        for round in 0..<10 {
            for token in tokens {
                let before = clock.now
                _ = await session.validator.verify(token)
                if round > 0 { latency.record(clock.now - before) }
            }
        }
        return ScenarioResult(
            name: "verify.warm", opsPerSecond: rates.sorted()[rates.count / 2], latency: latency,
            note: "10,000 live tokens, \(session.validator.state.revocations) revocations mirrored, one core"
        ).compared(to: "verify.raw", rate: try session.rawRate("verify.raw", .verify))
    }
}

import ArgumentParser
import TokenClient
import TokenWire

/// `propagation` and `propagation.redis`: each revocation timed from the Revoke's answer until every
/// watching validator applied it; then every validator refuses the token. On Redis the Revoke goes
/// to instance A and the validators watch instance B; that runs `--rounds` times, each on a rig of
/// its own, and the note gives each run's p99 (the goal holds in every run).
struct PropagationScenario {
    let session: BenchSession

    func run(_ name: String, redisURL: String? = nil) async throws -> ScenarioResult {
        let runs = redisURL == nil ? 1 : session.settings.rounds
        var latency = LatencyRecorder()
        var runP99s: [String] = []
        for run in 0..<runs {
            let rig = try await PropagationRig.start(
                directory: session.directory + "-\(name)-\(run)", watchers: session.settings.watchers,
                validator: session.validatorConfiguration, redisURL: redisURL)
            do {
                let tokens = try await session.issue(session.settings.propagations, client: rig.client)
                let runLatency = try await revoke(tokens, on: rig)
                latency.add(runLatency)
                runP99s.append(String(format: "%.2f", runLatency.microseconds(at: 99) / 1_000))
                await rig.stop()
            } catch {
                await rig.stop()
                throw error
            }
        }
        let place = redisURL == nil ? "" : " on instance A (Redis store)"
        let watched = redisURL == nil ? "" : " watching instance B"
        let perRun = runs > 1 ? "; p99 per run: " + runP99s.joined(separator: ", ") + " ms" : ""
        return ScenarioResult(
            name: name, latency: latency,
            note: "Revoke answered\(place) → all \(session.settings.watchers) validators\(watched) applied it and "
                + "refuse the token, \(runs) × \(session.settings.propagations) revocations\(perRun)")
    }

    /// Revokes `tokens` one after the other on `rig`, timing each until every validator applied it.
    private func revoke(_ tokens: [IssueResponse], on rig: PropagationRig) async throws -> LatencyRecorder {
        var latency = LatencyRecorder()
        for token in tokens {
            let seq = try await rig.client.revoke(RevokeRequest(target: .tokenID(token.tokenID))).seq
            let answered = ContinuousClock.now
            try await rig.waitUntilEveryValidatorApplied(seq: seq)
            latency.record(ContinuousClock.now - answered)
            for validator in rig.validators {
                guard await validator.verify(token.accessToken).outcome == .invalid(.revoked) else {
                    throw ValidationError("a revoked token was not refused")
                }
            }
        }
        return latency
    }
}

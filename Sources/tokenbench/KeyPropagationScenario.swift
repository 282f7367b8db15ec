import ArgumentParser
import TokenClient
import TokenWire

/// `key.propagation`: an emergency rotation, from RotateKeys(revoke_previous) answered until every
/// validator refuses the revoked key's tokens, those it had verified (cached) included.
enum KeyPropagationScenario {
    /// Times `session`'s `keyRotations` emergency rotations on a rig of their own.
    static func run(session: BenchSession) async throws -> ScenarioResult {
        let rig = try await PropagationRig.start(
            directory: session.directory + "-key-propagation", watchers: session.settings.watchers,
            validator: session.validatorConfiguration)
        do {
            let result = try await run(on: rig, rotations: session.settings.keyRotations)
            await rig.stop()
            return result
        } catch {
            await rig.stop()
            throw error
        }
    }

    /// Times `rotations` emergency rotations one after the other on `rig`.
    private static func run(on rig: PropagationRig, rotations: Int) async throws -> ScenarioResult {
        var latency = LatencyRecorder()
        for _ in 0..<rotations {
            // A token of the key about to leak, verified (and so cached) by every validator.
            let token = try await rig.client.issue(IssueRequest(subject: "bench-key", audience: ["api"])).accessToken
            for validator in rig.validators {
                guard await validator.verify(token).isValid else {
                    throw ValidationError("a fresh token did not verify")
                }
            }
            let seq = try await rig.client.rotateKeys(RotateKeysRequest(revokePrevious: true)).seq
            let answered = ContinuousClock.now
            try await rig.waitUntilEveryValidatorApplied(seq: seq)
            latency.record(ContinuousClock.now - answered)
            for validator in rig.validators {
                guard await validator.verify(token).outcome == .invalid(.revoked) else {
                    throw ValidationError("a token of a revoked key was not refused")
                }
            }
        }
        return ScenarioResult(
            name: "key.propagation", latency: latency,
            note: "RotateKeys(revoke_previous) answered → all \(rig.validators.count) validators refuse the old "
                + "key's tokens, cached ones included, \(rotations) rotations")
    }
}

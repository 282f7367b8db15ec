import InMemoryLogging
import Logging
import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenTestSupport
import TokenWire

@testable import TokenServer

/// What a validator does with key events it cannot use, and with tokens whose key has not come yet,
/// against a stand-in service that sends what a real one never would.
@Suite struct ValidatorKeyInputTests {
    static func publicKeys(of ring: KeyRing) -> [WirePublicKey] {
        ring.entries.map(WirePublicKey.init)
    }

    /// A token of the test issuer signed by `key` under `keyID`, valid now.
    static func token(signedBy key: SigningKey, keyID: String) throws -> String {
        try TokenMinter().mint(
            claims: try KeyEventsTests.claims(subject: "alice", now: SystemClock().now()), key: key, keyID: keyID)
    }

    /// A validator configuration for the stand-in service: keys come from events only (a fetch
    /// for an unknown kid is held back by the cooldown), and the mirror stays fresh without heartbeats.
    static func configuration(
        port: Int,
        configure: (inout TokenValidatorConfiguration) -> Void = { _ in }
    ) -> TokenValidatorConfiguration {
        ValidatorHarness.configuration(port: port, staleAfter: .seconds(60)) { configuration in
            configuration.unknownKeyCooldown = .seconds(600)
            configure(&configuration)
        }
    }

    @Test func keyEventsThatAreNoRingAreRefusedLoggedAndTheKeysFetched() async throws {
        let ring = try KeyRing.bootstrap(algorithm: .edDSA, now: 1_000)
        let good = Self.publicKeys(of: ring)
        var malformed = good
        malformed[1].publicKeyDER = Array(malformed[1].publicKeyDER.prefix(20))
        var unknownState = good
        unknownState[1].state = KeyState(rawValue: 42)
        var twoActive = good
        twoActive[1].state = .active
        let broken: [(keys: [WirePublicKey], reason: String)] = [
            (unknownState, "unknown state 42"), (malformed, "malformed"), (twoActive, "2 ACTIVE and 0 NEXT"),
        ]
        let log = InMemoryLogHandler()
        try await ScriptedKeyService.with(publishing: good) { service in
            let configuration = Self.configuration(port: service.port)
            try await ValidatorHarness.run(configuration, logger: Logger(label: "test", factory: { _ in log })) {
                validator in
                let first = try Self.token(signedBy: ring.active.key, keyID: ring.active.keyID)
                #expect(await validator.verify(first).outcome == .valid)
                for (index, event) in broken.enumerated() {
                    let seq = UInt64(index + 1)
                    let (fetches, calls) = (validator.state.keyFetches, service.getKeysCalls)
                    let ringEvent = WireRevocationEvent(seq: seq, kind: .keyRing, revokedAt: 1_000, keys: event.keys)
                    service.send([ringEvent], head: seq)
                    // Refused, and the keys fetched at once, whatever the cooldown.
                    try await within(.seconds(10), "the refused event \(seq) to cause a key fetch") {
                        try await validator.waitUntil { $0.appliedSeq >= seq && $0.keyFetches > fetches }
                    }
                    #expect(service.getKeysCalls > calls)
                    #expect(validator.state.keyCount == 2)
                    let token = try Self.token(signedBy: ring.next.key, keyID: ring.next.keyID)
                    #expect(await validator.verify(token).outcome == .valid)
                    let errors = log.entries.filter { $0.level == .error }
                    #expect(errors.count == index + 1)
                    #expect(
                        errors.last?.message.description
                            == "refused key events of the revocation stream; fetching the keys")
                    #expect(errors.last?.metadata["refused"]?.description.contains(event.reason) == true, "\(errors)")
                }
            }
        }
    }

    @Test func aTokenWhoseKeyIsStillOnTheStreamWaitsForItsEvent() async throws {
        var ring = try KeyRing.bootstrap(algorithm: .edDSA, now: 1_000)
        try await ScriptedKeyService.with(publishing: Self.publicKeys(of: ring)) { service in
            let configuration = Self.configuration(port: service.port) { $0.unknownKeyWait = .seconds(60) }
            try await ValidatorHarness.run(configuration) { validator in
                let (fetches, calls) = (validator.state.keyFetches, service.getKeysCalls)
                try ring.rotate(now: 1_010, maxTokenLifetime: 900, algorithm: .edDSA)
                let token = try Self.token(signedBy: ring.next.key, keyID: ring.next.keyID)
                let verification = Task { await validator.verify(token) }
                #expect(try await eventually(within: .seconds(10)) { validator.state.keyWaiters == 1 })
                service.send([WireRevocationEvent(seq: 1, kind: .keyRing, keys: Self.publicKeys(of: ring))], head: 1)
                let outcome = try await within(.seconds(10), "the waiting verification to end") {
                    await verification.value
                }
                #expect(outcome.outcome == .valid)
                #expect(validator.state.keyWaiters == 0)
                #expect(validator.state.keyWaitsRanOut == 0)
                #expect(validator.state.keyFetches == fetches)
                #expect(service.getKeysCalls == calls)
            }
        }
    }

    @Test func waitsForKeysAreBoundedAndAWaitThatRanOutHoldsTheNextOnesBack() async throws {
        let ring = try KeyRing.bootstrap(algorithm: .edDSA, now: 1_000)
        let forger = try SigningKey.generate(.edDSA)
        try await ScriptedKeyService.with(publishing: Self.publicKeys(of: ring)) { service in
            // At most two waits at once: a third forged kid is refused without one.
            let bounded = Self.configuration(port: service.port) {
                $0.unknownKeyWait = .seconds(60)
                $0.maxKeyWaiters = 2
            }
            try await ValidatorHarness.run(bounded) { validator in
                let waiting = try (1...2).map { index in
                    let token = try Self.token(signedBy: forger, keyID: "forged-\(index)")
                    return Task { await validator.verify(token).outcome }
                }
                #expect(try await eventually(within: .seconds(10)) { validator.state.keyWaiters == 2 })
                let third = try await within(.seconds(10), "a verification beyond the bound") {
                    await validator.verify(try Self.token(signedBy: forger, keyID: "forged-3")).outcome
                }
                #expect(third == .invalid(.unknownKey))
                #expect(validator.state.keyWaiters == 2)
                waiting.forEach { $0.cancel() }
                for task in waiting {
                    #expect(await task.value == .invalid(.unknownKey))
                }
                #expect(validator.state.keyWaiters == 0)
                #expect(validator.state.keyWaitsRanOut == 0)
            }
            // A wait that ran out: the next unknown kid within the cooldown does not wait.
            let short = Self.configuration(port: service.port) { $0.unknownKeyWait = .milliseconds(100) }
            try await ValidatorHarness.run(short) { validator in
                let first = await validator.verify(try Self.token(signedBy: forger, keyID: "forged-4"))
                #expect(first.outcome == .invalid(.unknownKey))
                #expect(validator.state.keyWaitsRanOut == 1)
                let second = await validator.verify(try Self.token(signedBy: forger, keyID: "forged-5"))
                #expect(second.outcome == .invalid(.unknownKey))
                #expect(validator.state.keyWaitsRanOut == 1)
            }
        }
    }
}

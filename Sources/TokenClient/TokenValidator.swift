import Logging
import ServiceLifecycle
import Synchronization
import TokenCore
import TokenRPC
import TokenWire

/// Verifies access tokens locally (no network call on the hot path) and still rejects a revoked
/// token within milliseconds, by mirroring the service's revocations through `WatchRevocations`.
///
/// One validator per process, shared by all tasks. Run it as a `Service` (for example in the
/// embedding service's `ServiceGroup`): it loads and refreshes the keys, follows the revocation
/// stream (resuming from its last `seq` after a reconnect), notices when the mirror goes stale, and
/// publishes its state through swift-metrics.
///
/// `verify` uses the engine's own routine (`TokenVerifier`), so the library and the service never
/// disagree on what is valid. A verified token is cached by its exact text: a repeat verification
/// checks only the claims' times, the audience and the mirror. While the mirror is stale a
/// verification asks the service's Validate; when that cannot be reached the `StalenessPolicy`
/// decides.
public final class TokenValidator: Service, Sendable {
    /// What a cached lookup found.
    private enum CacheLookup {
        case hit(TokenValidation, fresh: Bool)
        case miss(KeySet?)
    }

    let configuration: TokenValidatorConfiguration
    let clock: any UnixClock
    let logger: Logger
    let verifier: TokenVerifier
    let rpc: RPCClient
    let service: TokenServiceClient
    let storage: Mutex<TokenValidatorStorage>
    let metrics: TokenValidatorMetrics
    /// Asks the key refresh task for a fetch now, whatever the cooldown (a key event was refused).
    let keyFetchRequests: AsyncStream<Void>.Continuation
    let keyFetchRequested: AsyncStream<Void>

    /// Creates a validator; it connects when it runs (or on the first verification that needs the
    /// service).
    /// - Parameters:
    ///   - configuration: the service's endpoints, the issuer, the staleness bound and policy.
    ///   - clock: the time tokens are checked against.
    ///   - logger: receives state transitions; never tokens or credentials.
    public init(
        configuration: TokenValidatorConfiguration,
        clock: any UnixClock = SystemClock(),
        logger: Logger = Logger(label: "token.validator", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.verifier = TokenVerifier(issuer: configuration.issuer, leeway: configuration.leeway)
        self.rpc = RPCClient(
            endpoints: configuration.endpoints,
            configuration: configuration.rpc,
            credential: configuration.credential,
            logger: logger
        )
        self.service = TokenServiceClient(wrapping: rpc)
        self.storage = Mutex(TokenValidatorStorage(cacheCapacity: configuration.cacheCapacity))
        self.metrics = TokenValidatorMetrics(prefix: configuration.metricsPrefix)
        (keyFetchRequested, keyFetchRequests) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Loads the keys, follows the revocation stream and watches for staleness until cancelled or
    /// shut down gracefully; then closes the connection.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.refreshKeysPeriodically() }
                group.addTask { await self.followRevocations() }
                group.addTask { await self.watchStaleness() }
                group.addTask { await self.maintainPeriodically() }
                await group.next()
                group.cancelAll()
            }
        }
        metrics.publish(storage.withLock { $0.snapshot(now: .now, staleAfter: configuration.staleAfter) })
        await rpc.close()
    }

    /// Verifies an access token.
    /// - Parameters:
    ///   - token: the compact JWS, as presented.
    ///   - audience: the audience the token must carry; nil uses the configuration's.
    ///   - mode: `.strict` asks the service after a local success, whatever the mirror's state.
    /// - Returns: valid, invalid with the contract's reason, or unknown when the validator cannot
    ///   know (stale mirror, service unreachable, `.failClosed`).
    public func verify(
        _ token: String,
        audience: String? = nil,
        mode: VerificationMode = .standard
    ) async -> TokenValidation {
        let audience = audience ?? configuration.audience
        let now = clock.now()
        let lookup = storage.withLock { state in
            lookUpCached(token, audience: audience, now: now, in: &state)
        }
        switch lookup {
        case .hit(let validation, let fresh):
            return await settle(validation, token: token, audience: audience, fresh: fresh, mode: mode)
        case .miss(let keys):
            let (validation, fresh) = await verifyAndCache(token, audience: audience, now: now, keys: keys)
            return await settle(validation, token: token, audience: audience, fresh: fresh, mode: mode)
        }
    }

    /// The validator's state now.
    public var state: TokenValidatorState {
        storage.withLock { $0.snapshot(now: .now, staleAfter: configuration.staleAfter) }
    }

    /// Waits until the state satisfies `condition` (checked now and after every change: a batch
    /// applied, keys loaded, the mirror turning stale). Keep `condition` short: it runs under the
    /// validator's lock.
    /// - Parameter condition: the state to wait for.
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    public func waitUntil(_ condition: @escaping @Sendable (TokenValidatorState) -> Bool) async throws {
        let id = storage.withLock { $0.makeWaiterID() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Registration { case satisfied, cancelled, waiting }
                let registration = storage.withLock { state -> Registration in
                    if Task.isCancelled { return .cancelled }
                    if condition(state.snapshot(now: .now, staleAfter: configuration.staleAfter)) { return .satisfied }
                    state.waiters[id] = .init(condition: condition, continuation: continuation)
                    return .waiting
                }
                switch registration {
                case .satisfied: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            storage.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Waits until the mirror has applied the revocation with this `seq` (as a Revoke answered it).
    /// - Parameter seq: the revocation's sequence number.
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    public func waitUntilApplied(seq: UInt64) async throws {
        try await waitUntil { $0.appliedSeq >= seq }
    }

    /// Fetches the keys now (joining a fetch in flight), whatever the cooldown.
    public func refreshKeys() async {
        await fetchKeys(respectingCooldown: false)
    }

    // MARK: - Verification

    private func lookUpCached(
        _ token: String,
        audience: String?,
        now: Int64,
        in state: inout TokenValidatorStorage
    ) -> CacheLookup {
        guard var entry = state.cache[token] else {
            state.counters.cacheMisses += 1
            return .miss(state.keys)
        }
        let fresh = state.mirror.isFresh(at: .now, staleAfter: configuration.staleAfter)
        state.counters.cacheHits += 1
        let reason = verifier.check(entry.claims, audience: audience, now: now)
        switch reason {
        case .valid:
            break
        case .expired:
            state.cache.remove(token)
            return .hit(TokenValidation(outcome: .invalid(reason), claims: entry.claims, source: .cache), fresh: fresh)
        default:
            return .hit(TokenValidation(outcome: .invalid(reason), claims: entry.claims, source: .cache), fresh: fresh)
        }
        if entry.checkedGeneration != state.mirror.generation {
            entry.revoked =
                state.mirror.isRevoked(entry.claims) || state.mirror.revocations.isRevoked(keyID: entry.keyID)
            entry.checkedGeneration = state.mirror.generation
            state.cache[token] = entry
        }
        let outcome: TokenValidation.Outcome = entry.revoked ? .invalid(.revoked) : .valid
        return .hit(TokenValidation(outcome: outcome, claims: entry.claims, source: .cache), fresh: fresh)
    }

    /// Checks the signature and claims, caches a token whose signature, issuer and times are good,
    /// and checks it against the mirror.
    private func verifyAndCache(
        _ token: String,
        audience: String?,
        now: Int64,
        keys: KeySet?
    ) async -> (TokenValidation, fresh: Bool) {
        var keys = keys
        if keys == nil {
            await fetchKeys(respectingCooldown: true)
            keys = storage.withLock { $0.keys }
        }
        guard let loadedKeys = keys else {
            // Without keys only what needs none can be judged: a token that is not even well formed.
            let reason = verifier.verify(token, keys: KeySet(), audience: audience, now: now).reason
            if reason != .unknownKey {
                return (TokenValidation(outcome: .invalid(reason), claims: nil, source: .local), false)
            }
            storage.withLock { $0.counters.unknownRefusals += 1 }
            return (TokenValidation(outcome: .unknown, claims: nil, source: .policy), false)
        }
        var result = verifier.verify(token, keys: loadedKeys, audience: audience, now: now)
        if result.reason == .unknownKey, let keyID = result.keyID, !isRevoked(keyID: keyID),
            let published = await waitForPublishedKey(keyID)
        {
            // A key rotated in an instant ago, whose event came after the token.
            result = verifier.verify(token, keys: published, audience: audience, now: now)
        }
        if result.reason == .unknownKey, !isRevoked(keyID: result.keyID) {
            // A key published while the stream was down, or a forged kid: one fetch per cooldown at most.
            let before = storage.withLock { $0.keysFetched }
            await fetchKeys(respectingCooldown: true)
            if let refreshed = storage.withLock({ $0.keysFetched != before ? $0.keys : nil }) {
                result = verifier.verify(token, keys: refreshed, audience: audience, now: now)
            }
        }
        if result.reason == .unknownKey, isRevoked(keyID: result.keyID) {
            // A revoked key is no longer published: its tokens are refused as revoked.
            return (TokenValidation(outcome: .invalid(.revoked), claims: nil, source: .local), isFresh)
        }
        guard let claims = result.claims, let keyID = result.keyID else {
            return (TokenValidation(outcome: .invalid(result.reason), claims: nil, source: .local), isFresh)
        }
        let cacheable = result.reason == .valid || result.reason == .wrongAudience
        return storage.withLock { state in
            let fresh = state.mirror.isFresh(at: .now, staleAfter: configuration.staleAfter)
            guard cacheable else {
                return (TokenValidation(outcome: .invalid(result.reason), claims: claims, source: .local), fresh)
            }
            // Checked under the lock that applies batches: a key revoked since the signature was
            // checked is seen here, or its batch moves the generation this entry is cached at.
            let revoked = state.mirror.isRevoked(claims) || state.mirror.revocations.isRevoked(keyID: keyID)
            state.cache.insert(
                token,
                .init(claims: claims, keyID: keyID, checkedGeneration: state.mirror.generation, revoked: revoked))
            let outcome: TokenValidation.Outcome =
                result.reason != .valid ? .invalid(result.reason) : revoked ? .invalid(.revoked) : .valid
            return (TokenValidation(outcome: outcome, claims: claims, source: .local), fresh)
        }
    }

    private var isFresh: Bool {
        storage.withLock { $0.mirror.isFresh(at: .now, staleAfter: configuration.staleAfter) }
    }

    /// Whether the mirror holds the key with this `kid` revoked.
    private func isRevoked(keyID: String?) -> Bool {
        guard let keyID else { return false }
        return storage.withLock { $0.mirror.revocations.isRevoked(keyID: keyID) }
    }

    /// Turns a local answer into the final one: a local "invalid" stands; a local "valid" stands
    /// while the mirror is fresh (and the call is not strict), else the service or the policy decides.
    private func settle(
        _ local: TokenValidation,
        token: String,
        audience: String?,
        fresh: Bool,
        mode: VerificationMode
    ) async -> TokenValidation {
        guard local.outcome == .valid, !fresh || mode == .strict else { return local }
        if let answer = await askService(token, audience: audience, claims: local.claims) {
            return answer
        }
        return storage.withLock { state in
            if mode == .strict || configuration.policy == .failClosed {
                state.counters.unknownRefusals += 1
                return TokenValidation(outcome: .unknown, claims: local.claims, source: .policy)
            }
            state.counters.failOpenAcceptances += 1
            if !state.failOpenLogged {
                state.failOpenLogged = true
                logger.warning("revocation state unknown: accepting tokens on signature and claims (fail-open)")
            }
            return TokenValidation(outcome: .valid, claims: local.claims, source: .policy)
        }
    }

    /// The service's Validate, or nil when it cannot be asked.
    private func askService(_ token: String, audience: String?, claims: Claims?) async -> TokenValidation? {
        storage.withLock { $0.counters.fallbacks += 1 }
        do {
            let response = try await service.validate(
                ValidateRequest(token: token, audience: audience ?? ""),
                timeout: configuration.fallbackTimeout
            )
            let outcome: TokenValidation.Outcome =
                response.valid ? .valid : .invalid(VerificationReason(response.reason) ?? .malformed)
            return TokenValidation(outcome: outcome, claims: claims, source: .service)
        } catch {
            logger.debug("fallback Validate failed", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

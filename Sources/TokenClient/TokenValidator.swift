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
/// disagree on what is valid. A verified token is cached by the SHA-256 digest of its exact text: a
/// repeat verification checks only the times, the audience and the mirror. While the mirror is stale
/// a verification asks the service's Validate; when that cannot be reached the `StalenessPolicy`
/// decides.
///
/// Verifications run on every core at once without taking turns: a cache hit takes no lock and
/// writes nothing shared (see `VerifiedTokenCache`), the mirror's set is sharded
/// (`SharedRevocationSet`), and each thread counts on a cache line of its own.
public final class TokenValidator: Service, Sendable {
    let configuration: TokenValidatorConfiguration
    let clock: any UnixClock
    let logger: Logger
    let verifier: TokenVerifier
    let rpc: RPCClient
    let service: TokenServiceClient
    let storage: Mutex<TokenValidatorStorage>
    /// The verified tokens (shared with `storage`; read without its lock).
    let cache: VerifiedTokenCache
    /// What verifications read of the mirror (shared with `storage`; read without its lock).
    let mirror: PublishedMirror
    /// What the validator counts (shared with `storage`).
    let counters: TokenValidatorCounters
    let metrics: TokenValidatorMetrics
    private let staleAfterNanoseconds: Int64
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
        let storage = TokenValidatorStorage(cacheCapacity: configuration.cacheCapacity)
        self.cache = storage.cache
        self.mirror = storage.mirror.published
        self.counters = storage.counters
        self.storage = Mutex(storage)
        self.metrics = TokenValidatorMetrics(prefix: configuration.metricsPrefix)
        self.staleAfterNanoseconds = PublishedMirror.nanoseconds(configuration.staleAfter)
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
        // Too long to be a token: refused as the verifier would, before it costs a digest.
        guard token.utf8.count <= CompactJWS.maxLength else {
            counters.increment(.cacheMisses)
            return TokenValidation(outcome: .invalid(.malformed), claims: nil, source: .local)
        }
        let audience = audience ?? configuration.audience
        let now = clock.now()
        let digest = SHA256Digest(of: token)
        if let cached = cachedValidation(token, digest: digest, audience: audience, now: now) {
            counters.increment(.cacheHits)
            return await settle(cached, token: token, audience: audience, mode: mode)
        }
        counters.increment(.cacheMisses)
        let local = await verifyAndCache(token, digest: digest, audience: audience, now: now)
        return await settle(local, token: token, audience: audience, mode: mode)
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

    /// The answer of a cached verification: the times, the audience, and the mirror (checked again
    /// only when it changed since the entry's last check); nil when the token is not cached.
    private func cachedValidation(
        _ token: String,
        digest: SHA256Digest,
        audience: String?,
        now: Int64
    ) -> TokenValidation? {
        guard let found = cache.lookup(digest) else { return nil }
        let entry = found.entry
        let times = verifier.checkTimes(
            expiresAt: entry.expiresAt, notBefore: entry.notBefore, issuedAt: entry.issuedAt, now: now)
        guard times == .valid else {
            return TokenValidation(outcome: .invalid(times), verifiedToken: token, source: .cache)
        }
        if let audience {
            let carried =
                audience == configuration.audience
                ? entry.hasDefaultAudience : Claims(payloadOf: token)?.audience.contains(audience) == true
            guard carried else {
                return TokenValidation(outcome: .invalid(.wrongAudience), verifiedToken: token, source: .cache)
            }
        }
        // The generation is read before the set: the check below saw every revocation it stands for.
        let generation = mirror.generation & VerifiedTokenCache.generationMask
        var revoked = entry.revoked
        if entry.checkedGeneration != generation {
            revoked = isRevoked(token, probe: entry.probe)
            cache.recordCheck(found, generation: generation, revoked: revoked)
        }
        return TokenValidation(outcome: revoked ? .invalid(.revoked) : .valid, verifiedToken: token, source: .cache)
    }

    /// Whether the mirror revokes a verified token: by its key (read from the token's header only
    /// while some key is revoked, which is rare), by its probe, or by its claims when the probe
    /// cannot tell (or the token has none).
    private func isRevoked(_ token: String, probe: RevocationProbe?) -> Bool {
        if mirror.revocations.hasRevokedKeys {
            // The token verified once, so its header reads; if it did not, refusing is the safe answer.
            guard let keyID = CompactJWS.keyID(of: token) else { return true }
            if mirror.revocations.isRevoked(keyID: keyID) { return true }
        }
        if let probe, let revoked = mirror.revocations.isRevoked(probe) {
            return revoked
        }
        // The token verified once, so its payload reads; if it did not, refusing is the safe answer.
        guard let claims = Claims(payloadOf: token) else { return true }
        return mirror.revocations.isRevoked(claims)
    }

    /// Checks the signature and claims, caches a token whose signature, issuer and times are good,
    /// and checks it against the mirror.
    private func verifyAndCache(
        _ token: String,
        digest: SHA256Digest,
        audience: String?,
        now: Int64
    ) async -> TokenValidation {
        var keys = storage.withLock { $0.keys }
        if keys == nil {
            await fetchKeys(respectingCooldown: true)
            keys = storage.withLock { $0.keys }
        }
        guard let loadedKeys = keys else {
            // Without keys only what needs none can be judged: a token that is not even well formed.
            let reason = verifier.verify(token, keys: KeySet(), audience: audience, now: now).reason
            if reason != .unknownKey {
                return TokenValidation(outcome: .invalid(reason), claims: nil, source: .local)
            }
            counters.increment(.unknownRefusals)
            return TokenValidation(outcome: .unknown, claims: nil, source: .policy)
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
            return TokenValidation(outcome: .invalid(.revoked), claims: nil, source: .local)
        }
        guard let claims = result.claims, let keyID = result.keyID else {
            return TokenValidation(outcome: .invalid(result.reason), claims: nil, source: .local)
        }
        guard result.reason == .valid || result.reason == .wrongAudience else {
            return TokenValidation(outcome: .invalid(result.reason), claims: claims, source: .local)
        }
        // The generation is read before the set: a revocation (of the token or of its key) applied
        // after this check moves it, and the entry is checked again at its next hit.
        let generation = mirror.generation
        let revoked = mirror.revocations.isRevoked(claims) || mirror.revocations.isRevoked(keyID: keyID)
        cache.insert(
            digest,
            VerifiedTokenCache.Entry(
                expiresAt: claims.expiresAt,
                notBefore: claims.notBefore,
                issuedAt: claims.issuedAt,
                hasDefaultAudience: configuration.audience.map(claims.audience.contains) ?? true,
                probe: RevocationProbe(claims),
                checkedGeneration: generation,
                revoked: revoked
            )
        )
        let outcome: TokenValidation.Outcome =
            result.reason != .valid ? .invalid(result.reason) : revoked ? .invalid(.revoked) : .valid
        return TokenValidation(outcome: outcome, claims: claims, source: .local)
    }

    /// Whether the mirror holds the key with this `kid` revoked.
    private func isRevoked(keyID: String?) -> Bool {
        guard let keyID else { return false }
        return mirror.revocations.isRevoked(keyID: keyID)
    }

    /// Turns a local answer into the final one: a local "invalid" stands; a local "valid" stands
    /// while the mirror is fresh (and the call is not strict), else the service or the policy decides.
    private func settle(
        _ local: TokenValidation,
        token: String,
        audience: String?,
        mode: VerificationMode
    ) async -> TokenValidation {
        guard local.outcome == .valid else { return local }
        if mode != .strict, mirror.isFresh(at: .now, staleAfterNanoseconds: staleAfterNanoseconds) {
            return local
        }
        if let answer = await askService(token, audience: audience, local: local) {
            return answer
        }
        var answer = local
        answer.source = .policy
        if mode == .strict || configuration.policy == .failClosed {
            counters.increment(.unknownRefusals)
            answer.outcome = .unknown
            return answer
        }
        counters.increment(.failOpenAcceptances)
        let firstAcceptance = storage.withLock { state in
            defer { state.failOpenLogged = true }
            return !state.failOpenLogged
        }
        if firstAcceptance {
            logger.warning("revocation state unknown: accepting tokens on signature and claims (fail-open)")
        }
        return answer
    }

    /// The service's Validate, or nil when it cannot be asked.
    private func askService(_ token: String, audience: String?, local: TokenValidation) async -> TokenValidation? {
        counters.increment(.fallbacks)
        do {
            let response = try await service.validate(
                ValidateRequest(token: token, audience: audience ?? ""),
                timeout: configuration.fallbackTimeout
            )
            var answer = local
            answer.outcome = response.valid ? .valid : .invalid(VerificationReason(response.reason) ?? .malformed)
            answer.source = .service
            return answer
        } catch {
            logger.debug("fallback Validate failed", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

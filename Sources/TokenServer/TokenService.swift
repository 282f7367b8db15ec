import Logging
import ServiceLifecycle
import TokenCore
import TokenRPC
import TokenStore
import TokenWire

/// The token service: the nine methods of `token.v1.TokenService` on top of a `TokenStore`.
///
/// Register `methods` with an `RPCServer`, and run the service itself (a `Service`) in the same
/// `ServiceGroup`: it fans out revocations, sends heartbeats, rotates keys on schedule and purges
/// expired state.
public final class TokenService: Service {
    let configuration: TokenServiceConfiguration
    let store: any TokenStore
    /// `store` when it is shared by several instances (Redis), else nil.
    let sharedStore: (any SharedTokenStore)?
    let clock: any UnixClock
    let logger: Logger
    let keys: KeyRingManager
    let revocations: RevocationHub
    let verifier: TokenVerifier
    let refreshes = RefreshCoalescer()

    /// Opens the service on a store: loads (or creates) the key ring and the revocations in force.
    /// - Parameters:
    ///   - configuration: issuer, lifetimes, algorithm, schedules.
    ///   - store: where state lives.
    ///   - clock: the time source (a manual clock in tests).
    ///   - logger: where the service logs; never tokens, keys or credentials.
    /// - Throws: `TokenStoreError` when the store cannot be read, `TokenError` for unusable stored keys.
    public init(
        configuration: TokenServiceConfiguration,
        store: any TokenStore,
        clock: any UnixClock = SystemClock(),
        logger: Logger
    ) async throws {
        self.configuration = configuration
        self.store = store
        self.sharedStore = store as? any SharedTokenStore
        self.clock = clock
        self.logger = logger
        let revocations = try await RevocationHub(
            store: store,
            clock: clock,
            queueLimit: configuration.watcherQueueLimit,
            certificationBound: configuration.sharedStateStaleAfter,
            logger: logger
        )
        self.revocations = revocations
        // Key ring changes are events of the revocation log: they go out like revocations.
        keys = try await KeyRingManager(
            store: store, configuration: configuration, now: clock.now(), logger: logger,
            logged: { events in events.forEach(revocations.applyStored) })
        verifier = TokenVerifier(issuer: configuration.issuer, leeway: configuration.leeway)
    }

    /// The handlers to register with an `RPCServer`.
    public var methods: [RPCMethod] {
        [
            // Issue's only wait is its durable write, answered through a callback rather than a task.
            .deferredUnary(TokenServiceMethod.issue, role: .issue, request: IssueRequest.self) { request, context, reply in
                try self.issue(request, context: context, reply: reply)
            },
            // Validate, GetKeys and Health are CPU work on memory: they run on the event loop.
            .synchronousUnary(TokenServiceMethod.validate, role: .validate, request: ValidateRequest.self) { request, _ in
                try self.validate(request)
            },
            .unary(TokenServiceMethod.refresh, role: .refresh, request: RefreshRequest.self) { request, context in
                try await self.refresh(request, context: context)
            },
            .unary(TokenServiceMethod.revoke, role: .revoke, request: RevokeRequest.self) { request, context in
                try await self.revoke(request, context: context)
            },
            .synchronousUnary(TokenServiceMethod.getKeys, role: nil, request: GetKeysRequest.self) { _, _ in
                self.keys.snapshot.getKeysResponse
            },
            .serverStreaming(
                TokenServiceMethod.watchRevocations,
                role: .validate,
                request: WatchRevocationsRequest.self,
                response: RevocationBatch.self
            ) { request, context, writer in
                try await self.watchRevocations(request, context: context, writer: writer)
            },
            .unary(TokenServiceMethod.listSessions, role: .admin, request: ListSessionsRequest.self) { request, _ in
                try await self.listSessions(request)
            },
            .unary(TokenServiceMethod.rotateKeys, role: .admin, request: RotateKeysRequest.self) { request, _ in
                try await self.rotateKeys(request)
            },
            .synchronousUnary(TokenServiceMethod.health, role: nil, request: HealthRequest.self) { _, _ in
                HealthResponse(serving: self.isServing, store: self.store.kind, version: self.configuration.version)
            },
        ]
    }

    /// Runs the background work until cancelled or shut down gracefully, then closes the store.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await self.revocations.run(
                        heartbeatInterval: self.configuration.heartbeatInterval, reloadKeyRing: self.keyRingReload)
                }
                group.addTask { await self.maintainPeriodically() }
                if self.store is any SharedTokenStore {
                    group.addTask { await self.followKeyRing() }
                }
                await group.next()
                group.cancelAll()
            }
        }
        await store.close()
    }

    /// On a shared store, what the fan-out runs when the log says another instance changed the key
    /// ring: reads it into this instance.
    private var keyRingReload: (@Sendable (_ evenIfOlder: Bool) async throws -> Void)? {
        guard sharedStore != nil else { return nil }
        let keys = self.keys
        return { evenIfOlder in _ = try await keys.reloadIfChanged(evenIfOlder: evenIfOlder) }
    }

    /// Runs one round of the periodic maintenance now: rotates an aged ACTIVE key, drops RETIRING
    /// keys whose tokens have all expired, forgets expired revocations and purges expired rows.
    public func maintain() async {
        let now = clock.now()
        do {
            try await keys.maintain(now: now)
        } catch {
            logger.error("key maintenance failed", metadata: ["error": "\(error)"])
        }
        revocations.prune(now: now)
        do {
            try await store.purgeExpired(now: now)
        } catch {
            logger.warning("purging expired state failed", metadata: ["error": "\(error)"])
        }
    }

    /// False while a shared store cannot be reached or its revocations cannot be followed: writes
    /// or Validate fail then, and a load balancer should send callers elsewhere.
    var isServing: Bool {
        (sharedStore?.isReachable ?? true) && revocations.isCurrent()
    }

    /// Returns once every method can be answered: the store is open and the keys are loaded (the
    /// service exists), and on a shared store its revocations are followed.
    /// - Throws: `CancellationError` when the task is cancelled first.
    public func waitUntilReady() async throws {
        while !isServing {
            try await Task.sleep(for: Self.readinessPollInterval)
        }
    }

    /// How often `waitUntilReady` looks again.
    static let readinessPollInterval = Duration.milliseconds(20)

    /// How often an instance on a shared store reads the stored key ring, besides when the log says
    /// it changed: the safety net for a ring changed without a log event (by an instance of an
    /// older version).
    static let keyRingPollInterval = Duration.seconds(5)

    /// Picks up key ring changes the log did not announce (within `keyRingPollInterval` and a read).
    private func followKeyRing() async {
        while !Task.isCancelled {
            do {
                try await keys.reloadIfChanged()
            } catch {
                logger.debug("reading the shared key ring failed", metadata: ["error": "\(error)"])
            }
            do {
                try await Task.sleep(for: Self.keyRingPollInterval)
            } catch {
                return
            }
        }
    }

    private func maintainPeriodically() async {
        while !Task.isCancelled {
            await maintain()
            do {
                try await Task.sleep(for: configuration.maintenanceInterval)
            } catch {
                return
            }
        }
    }

    /// Rotates the keys; with `revokePrevious`, revokes the former ACTIVE key. The revocation is
    /// stored and in force here before the answer.
    func rotateKeys(_ request: RotateKeysRequest) async throws -> RotateKeysResponse {
        let rotation = try await storeCall {
            try await keys.rotate(now: clock.now(), revokingActive: request.revokePrevious)
        }
        return RotateKeysResponse(
            keyID: rotation.activeKeyID, seq: rotation.ringEvent.seq, revokedKeyID: rotation.revokedKeyID ?? "")
    }

    /// Runs a store operation, mapping store failures to the contract's codes: nothing that failed
    /// to be stored is acknowledged.
    func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as TokenStoreError {
            throw storeFailure(error)
        }
    }

    /// The contract's answer to a store failure (logged unless the store refused the input).
    func storeFailure(_ error: TokenStoreError) -> RPCError {
        if error.isRejected {
            return RPCError(code: .invalidArgument, message: "\(error)")
        }
        logger.error("store call failed", metadata: ["error": "\(error)"])
        return error.isUnavailable
            ? RPCError(code: .unavailable, message: "store unavailable")
            : RPCError(code: .internalError, message: "store error")
    }
}

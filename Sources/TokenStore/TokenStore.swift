import NIOCore
import TokenCore

/// Where the service keeps its state: sessions, refresh tokens (hashes only), revocations with
/// their event log, and the signing key ring.
///
/// Every write returns only once it is durable: a caller that got no error may acknowledge it.
/// A store that cannot reach its storage throws `TokenStoreError.unavailable`, which the service
/// answers with `UNAVAILABLE`. Implementations: `EmbeddedTokenStore` (SQLite under a data
/// directory) and, for several instances sharing state, a Redis store.
public protocol TokenStore: RevocationLogReader {
    /// "embedded" or "redis", as `Health` reports it.
    var kind: String { get }

    // MARK: Keys

    /// The stored key ring (no keys on first start) and the seq of the event that logged it.
    func loadSigningKeys() async throws(TokenStoreError) -> StoredKeyRing

    /// Replaces the stored key ring with `keys` and logs the change in the revocation log, all
    /// atomically (a reader sees the old ring and log or the new ones): first a `.signingKey`
    /// revocation per key `change` revokes, then a `.keyRing` event holding `change.publishedRing`.
    /// Events come from the log's one counter, so watchers get them in order with the revocations
    /// around them. The earlier `.keyRing` event leaves the log as if purged (a watcher resuming
    /// before it gets a snapshot, which carries the latest ring).
    /// - Returns: the logged events with their seqs, the `.keyRing` event last.
    func saveSigningKeys(
        _ keys: [StoredSigningKey],
        logging change: KeyRingChange
    ) async throws(TokenStoreError) -> [RevocationEvent]

    // MARK: Sessions and refresh tokens

    /// Stores a new session and, when given, its first refresh token.
    ///
    /// `session.createdAt` is the `iat` of the access token minted with it. The store remembers the
    /// subject's latest such `iat` (see `revoke(_:)`).
    /// - Throws: `revoked` when the subject was revoked at or after `session.createdAt` (the
    ///   session's tokens would be refused; nothing is stored).
    func createSession(_ session: SessionRecord, refreshToken: RefreshTokenRecord?) async throws(TokenStoreError)

    /// Stores a new session like `createSession(_:refreshToken:)`, but answers through `completion`
    /// instead of suspending the caller: Issue's one wait, without a task. `completion` runs once,
    /// on `eventLoop` (the caller's), or at once on the calling thread when the write is refused
    /// before it is queued.
    func createSession(
        _ session: SessionRecord,
        refreshToken: RefreshTokenRecord?,
        on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<Void, TokenStoreError>) -> Void
    )

    /// The session with this id, revoked or expired ones included; nil when unknown.
    func session(id: String) async throws(TokenStoreError) -> SessionRecord?

    /// The subject's sessions that are neither revoked nor expired at `now`, newest first: at most
    /// `limit` of them.
    func liveSessions(subject: String, now: Int64, limit: Int) async throws(TokenStoreError) -> [SessionRecord]

    /// The refresh token of session `sessionID` whose lookup key is `hash`, spent or not; nil when
    /// unknown (also when the token belongs to another session).
    func refreshToken(hash: [UInt8], sessionID: String) async throws(TokenStoreError) -> RefreshTokenRecord?

    /// Spends a refresh token and stores its successor, atomically.
    ///
    /// Succeeds only when `hash` is the unspent token of the successor's session, the session is
    /// not revoked and its subject was not revoked at or after the session's start, all checked
    /// atomically with the spend: then it is marked spent at `rotation.spentAt` with
    /// `rotation.replay`, `rotation.successor` becomes the session's token, and the session's
    /// `refreshedAt`/`expiresAt` are updated. `rotation.spentAt` is the `iat` of the access token
    /// minted with the successor; the store remembers the subject's latest. Of two racing calls for
    /// one hash, exactly one returns true.
    /// - Returns: false when the token was already spent, is unknown, belongs to another session,
    ///   or its session or subject is revoked.
    func spendRefreshToken(hash: [UInt8], rotation: RefreshRotation) async throws(TokenStoreError) -> Bool

    // MARK: Revocations

    /// Stores a revocation and appends its event to the log, atomically.
    ///
    /// For `.session` the session is marked revoked; for `.subject` every session of the subject.
    /// Revoking what is already revoked is not an error: a new event is logged all the same. A
    /// `.signingKey` revocation is stored like a token's (a written-back one); a `.keyRing` event is
    /// refused (`rejected`): `saveSigningKeys` logs those.
    ///
    /// The store decides the event's times at its serialization point, so that no token minted
    /// by a write it ordered first outlives the event: for `.subject`, `revokedAt` becomes at least
    /// the subject's latest stored `iat` (and `expiresAt` moves by as much); for `.session`,
    /// `expiresAt` covers the session's last refresh as well. The receipt carries the stored times.
    /// - Returns: the stored event (with its `seq`) and how many live sessions it ended.
    func revoke(_ revocation: RevocationRequest) async throws(TokenStoreError) -> RevocationReceipt

    /// Every revocation still in force at `now` (one event per target, the latest; key ring events
    /// are no revocations and left out), the newest sequence number stored and the log's epoch: the
    /// whole state, read at once.
    func activeRevocations(now: Int64) async throws(TokenStoreError) -> RevocationSnapshot

    // MARK: The revocation log's identity

    /// Starts a new epoch of the revocation log, unless the log's epoch is no longer `epoch` (an
    /// instance sharing the store started one first): a compare-and-set, so racing instances agree.
    /// - Parameter epoch: the epoch the caller found (0: none).
    /// - Returns: the epoch in force after the call, the new one or the one that got there first.
    func startRevocationLogEpoch(replacing epoch: UInt64) async throws(TokenStoreError) -> UInt64

    // MARK: Maintenance

    /// Deletes sessions (a session's unspent refresh token goes with it), spent refresh tokens and
    /// revocation events that expired before `now`.
    func purgeExpired(now: Int64) async throws(TokenStoreError)

    /// Flushes and closes; later calls throw `unavailable`.
    func close() async
}

/// A signing key as the store keeps it. The private key is PKCS#8 DER; the embedded store writes
/// it to a file readable by the owner only, the Redis store seals it.
public struct StoredSigningKey: Sendable, Hashable {
    /// The `kid`.
    public var keyID: String
    /// "EdDSA" or "ES256".
    public var algorithm: String
    /// "active", "next" or "retiring".
    public var state: String
    /// When the key was (or will be) first used to sign (Unix seconds).
    public var notBefore: Int64
    /// When the key stops being published (Unix seconds); 0 = open.
    public var notAfter: Int64
    /// PKCS#8 DER of the private key. Secret: never logged.
    public var privateKeyPKCS8: [UInt8]

    /// Creates a stored key.
    public init(
        keyID: String,
        algorithm: String,
        state: String,
        notBefore: Int64,
        notAfter: Int64,
        privateKeyPKCS8: [UInt8]
    ) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.state = state
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.privateKeyPKCS8 = privateKeyPKCS8
    }
}

/// The key ring as stored.
public struct StoredKeyRing: Sendable, Hashable {
    /// The keys (none on first start).
    public var keys: [StoredSigningKey]
    /// The seq of the `.keyRing` event that logged this ring (0: none was logged).
    public var seq: UInt64

    /// Creates a stored ring.
    public init(keys: [StoredSigningKey], seq: UInt64) {
        self.keys = keys
        self.seq = seq
    }
}

/// What the revocation log records of a key ring change.
public struct KeyRingChange: Sendable, Hashable {
    /// The most bytes an encoded published ring may take.
    public static let maxPublishedRingLength = 64 * 1_024

    /// The published keys after the change, as the service encodes them: the `.keyRing` event's value.
    public var publishedRing: String
    /// When the ring changed (Unix seconds): the `.keyRing` event's `revokedAt`.
    public var changedAt: Int64
    /// The revocations (`.signingKey`) of the keys the change revokes, logged before the ring.
    public var revokedKeys: [RevocationRequest]

    /// Creates a change.
    public init(publishedRing: String, changedAt: Int64, revokedKeys: [RevocationRequest] = []) {
        self.publishedRing = publishedRing
        self.changedAt = changedAt
        self.revokedKeys = revokedKeys
    }

    /// Checks what the stores check before storing the change.
    /// - Parameter maxValueLength: the longest revocation value or reason the store takes.
    /// - Throws: `rejected` naming what is wrong.
    public func check(maxValueLength: Int) throws(TokenStoreError) {
        guard !publishedRing.isEmpty, publishedRing.utf8.count <= Self.maxPublishedRingLength else {
            throw .rejected("a published key ring must be 1 to \(Self.maxPublishedRingLength) bytes")
        }
        for revocation in revokedKeys {
            guard revocation.kind == .signingKey, !revocation.value.isEmpty else {
                throw .rejected("a key ring change revokes keys only, each by a kid")
            }
            try revocation.check(maxValueLength: maxValueLength)
        }
    }
}

/// A login session: what Issue created and Refresh extends.
public struct SessionRecord: Sendable, Hashable {
    /// The `sid`.
    public var sessionID: String
    /// The `sub`.
    public var subject: String
    /// The audience of its access tokens.
    public var audience: [String]
    /// The scopes of its access tokens.
    public var scopes: [String]
    /// Extra claims of its access tokens, a JSON object ("" for none).
    public var extraClaimsJSON: String
    /// Metadata given at Issue (user agent, IP, ...).
    public var metadata: [String: String]
    /// When Issue created it (Unix seconds).
    public var createdAt: Int64
    /// Its last refresh (Unix seconds).
    public var refreshedAt: Int64
    /// When it ends unless refreshed (Unix seconds).
    public var expiresAt: Int64
    /// When it was revoked (Unix seconds); nil while not revoked.
    public var revokedAt: Int64?

    /// Creates a session record.
    public init(
        sessionID: String,
        subject: String,
        audience: [String],
        scopes: [String],
        extraClaimsJSON: String,
        metadata: [String: String],
        createdAt: Int64,
        refreshedAt: Int64,
        expiresAt: Int64,
        revokedAt: Int64? = nil
    ) {
        self.sessionID = sessionID
        self.subject = subject
        self.audience = audience
        self.scopes = scopes
        self.extraClaimsJSON = extraClaimsJSON
        self.metadata = metadata
        self.createdAt = createdAt
        self.refreshedAt = refreshedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// A refresh token, known only by a lookup key derived from its value with SHA-256.
public struct RefreshTokenRecord: Sendable, Hashable {
    /// The token's lookup key (at most 64 bytes), from which its value cannot be recovered. The
    /// value itself is never stored.
    public var hash: [UInt8]
    /// The session it belongs to.
    public var sessionID: String
    /// When it was minted (Unix seconds).
    public var issuedAt: Int64
    /// When it stops working (Unix seconds).
    public var expiresAt: Int64
    /// When it was spent by a refresh (Unix seconds); nil while unspent.
    public var spentAt: Int64?
    /// The answer of the refresh that spent it, sealed under a key derived from the token's value
    /// (so only a holder of the token can open it): a retry within the reuse grace gets it again.
    public var replay: [UInt8]

    /// Creates a refresh token record.
    public init(
        hash: [UInt8],
        sessionID: String,
        issuedAt: Int64,
        expiresAt: Int64,
        spentAt: Int64? = nil,
        replay: [UInt8] = []
    ) {
        self.hash = hash
        self.sessionID = sessionID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.spentAt = spentAt
        self.replay = replay
    }
}

/// What `spendRefreshToken` writes when it wins.
public struct RefreshRotation: Sendable, Hashable {
    /// When the old token is spent (Unix seconds): the `iat` of the access token minted with the
    /// successor.
    public var spentAt: Int64
    /// The sealed answer kept for retries of the old token.
    public var replay: [UInt8]
    /// The new refresh token.
    public var successor: RefreshTokenRecord
    /// The session's new expiry (Unix seconds).
    public var sessionExpiresAt: Int64

    /// Creates a rotation.
    public init(spentAt: Int64, replay: [UInt8], successor: RefreshTokenRecord, sessionExpiresAt: Int64) {
        self.spentAt = spentAt
        self.replay = replay
        self.successor = successor
        self.sessionExpiresAt = sessionExpiresAt
    }
}

/// A revocation to store.
public struct RevocationRequest: Sendable, Hashable {
    /// What `value` names.
    public var kind: RevocationEvent.Kind
    /// The `jti`, `sid` or `sub`.
    public var value: String
    /// When it is revoked (Unix seconds).
    public var revokedAt: Int64
    /// When the entry may be dropped (Unix seconds).
    public var expiresAt: Int64
    /// Free-form reason for the audit log.
    public var reason: String
    /// False (a new revocation): the store decides the stored times at commit, after every token
    /// minted before it. True: the times were decided before (a revocation written back after the
    /// store lost it) and are stored as they are, so it covers no token minted since.
    public var timesAreDecided: Bool

    /// Creates a revocation request.
    public init(
        kind: RevocationEvent.Kind,
        value: String,
        revokedAt: Int64,
        expiresAt: Int64,
        reason: String,
        timesAreDecided: Bool = false
    ) {
        self.kind = kind
        self.value = value
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
        self.reason = reason
        self.timesAreDecided = timesAreDecided
    }

    /// Checks a revocation before a store logs it: its value and reason fit `maxValueLength`
    /// bytes, and it is no key ring change (those are logged with the key ring).
    /// - Throws: `TokenStoreError.rejected`, naming what is wrong.
    public func check(maxValueLength: Int) throws(TokenStoreError) {
        guard value.utf8.count <= maxValueLength, reason.utf8.count <= maxValueLength else {
            throw .rejected("a revocation value or reason is longer than \(maxValueLength) bytes")
        }
        guard kind != .keyRing else { throw .rejected("a key ring change is logged with the key ring") }
    }
}

/// What a stored revocation produced.
public struct RevocationReceipt: Sendable, Hashable {
    /// The logged event, with its sequence number.
    public var event: RevocationEvent
    /// Live sessions it ended.
    public var sessionsRevoked: Int

    /// Creates a receipt.
    public init(event: RevocationEvent, sessionsRevoked: Int) {
        self.event = event
        self.sessionsRevoked = sessionsRevoked
    }
}

/// Events read from the revocation log after a given `seq`.
public struct RevocationEventPage: Sendable, Hashable {
    /// The events, oldest first.
    public var events: [RevocationEvent]
    /// False when events after the given `seq` were purged before the read. They had expired, so
    /// nothing they covered is still valid, but a watcher resuming from that `seq` is owed a
    /// snapshot (the contract says so).
    public var isComplete: Bool
    /// The log's epoch at the read (0: none yet).
    public var epoch: UInt64

    /// Creates a page.
    public init(events: [RevocationEvent], isComplete: Bool, epoch: UInt64 = 0) {
        self.events = events
        self.isComplete = isComplete
        self.epoch = epoch
    }
}

/// The revocation state a snapshot carries.
public struct RevocationSnapshot: Sendable, Hashable {
    /// One event per revoked target still in force.
    public var events: [RevocationEvent]
    /// The newest sequence number stored (0 when none).
    public var headSeq: UInt64
    /// The log's epoch at the read (0: none yet).
    public var epoch: UInt64

    /// Creates a snapshot.
    public init(events: [RevocationEvent], headSeq: UInt64, epoch: UInt64 = 0) {
        self.events = events
        self.headSeq = headSeq
        self.epoch = epoch
    }
}

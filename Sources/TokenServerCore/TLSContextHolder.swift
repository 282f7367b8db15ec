import NIOSSL
import Synchronization

/// The TLS context a listener gives the connections it accepts from now on: replacing it (a
/// certificate reload) changes what later connections get, while open ones keep theirs.
public final class TLSContextHolder: Sendable {
    private let context = Mutex<NIOSSLContext?>(nil)

    /// Creates a holder without a context (connections are then accepted without TLS).
    public init() {}

    /// The context of the next connection; nil for plain TCP.
    public var current: NIOSSLContext? {
        get { context.withLock { $0 } }
        set { context.withLock { $0 = newValue } }
    }
}

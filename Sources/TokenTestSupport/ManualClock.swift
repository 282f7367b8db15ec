import Synchronization
import TokenCore

/// A clock that moves only when a test moves it.
public final class ManualClock: UnixClock {
    private let current: Mutex<Int64>

    /// Creates a clock reading `start` (Unix seconds).
    public init(start: Int64 = 1_800_000_000) {
        current = Mutex(start)
    }

    public func now() -> Int64 {
        current.withLock { $0 }
    }

    /// Moves the clock forward by `seconds`.
    public func advance(by seconds: Int64) {
        current.withLock { $0 += seconds }
    }

    /// Sets the clock to `time` (Unix seconds).
    public func set(_ time: Int64) {
        current.withLock { $0 = time }
    }
}

/// A source of the current time in whole Unix seconds. Tests substitute a clock they set by hand,
/// so expiry is tested without sleeping.
public protocol UnixClock: Sendable {
    /// The current time, in seconds since 1970-01-01T00:00:00Z.
    func now() -> Int64

    /// The current time, in milliseconds since 1970-01-01T00:00:00Z.
    func nowMilliseconds() -> Int64
}

extension UnixClock {
    /// Whole seconds, for clocks that know no finer time.
    public func nowMilliseconds() -> Int64 {
        now() * 1_000
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system's real-time clock.
public struct SystemClock: UnixClock {
    /// Creates the system clock.
    public init() {}

    public func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec)
    }

    public func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// Reconnection delays: exponential, capped, with jitter so that many clients that lost the same
/// server do not come back in step.
enum Backoff {
    /// The delay before the next attempt after `failures` failed ones in a row: `initial` doubled
    /// per failure up to `maximum`, then drawn uniformly from its upper half.
    static func delay(after failures: Int, initial: Duration, maximum: Duration) -> Duration {
        let doublings = min(max(failures - 1, 0), 30)
        let ceiling = min(initial * (1 << doublings), maximum)
        return ceiling * Double.random(in: 0.5...1.0)
    }
}

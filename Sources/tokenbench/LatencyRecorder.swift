import Foundation
import Histogram

/// Latencies of one scenario in an HDR histogram (nanoseconds, three significant digits).
struct LatencyRecorder: Sendable {
    private(set) var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1,
        highestTrackableValue: 60_000_000_000,
        numberOfSignificantValueDigits: .three
    )

    /// Records one latency; values past a minute count as a minute.
    mutating func record(_ duration: Duration) {
        let nanoseconds = max(0, duration / .nanoseconds(1))
        _ = histogram.record(UInt64(min(nanoseconds, 60e9)))
    }

    /// Adds another recorder's values (each task of a load records on its own).
    mutating func add(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
    }

    var count: UInt64 {
        histogram.totalCount
    }

    /// The latency at `percentile` (0...100), in microseconds.
    func microseconds(at percentile: Double) -> Double {
        Double(histogram.valueAtPercentile(percentile)) / 1_000
    }

    /// The largest latency recorded, in microseconds.
    var maximumMicroseconds: Double {
        Double(histogram.max) / 1_000
    }

    /// Points of the percentile curve from 50 % to 99.99 %, evenly spaced on the log scale of
    /// 1 / (1 − percentile): (percentile, microseconds).
    func percentileCurve(points: Int = 60) -> [(percentile: Double, microseconds: Double)] {
        guard count > 0 else { return [] }
        return (0...points).map { step in
            let nines = 0.30103 + (4 - 0.30103) * Double(step) / Double(points)
            let percentile = 100 * (1 - pow10(-nines))
            return (percentile, microseconds(at: percentile))
        }
    }
}

/// 10 to the power `exponent`.
func pow10(_ exponent: Double) -> Double {
    pow(10, exponent)
}

/// One measured scenario, as `--json` and `--report` write it. Fields that do not apply are nil
/// and left out.
struct ScenarioResult: Encodable, Sendable {
    var name: String
    /// Operations per second.
    var opsPerSecond: Double?
    /// Latencies, when the scenario records them.
    var latency: LatencyRecorder?
    /// The scenario the ratio compares with.
    var baseline: String?
    /// `opsPerSecond` divided by the baseline's (times the cores where the baseline says so).
    var ratio: Double?
    var bytesPerEntry: Double?
    /// The share of verifications answered from the cache.
    var hitRate: Double?
    /// The server's resident memory per idle watch stream.
    var bytesPerWatcher: Double?
    /// How long the scenario's one timed step took (the median of its rounds).
    var seconds: Double?
    /// A few words on what was measured.
    var note: String

    init(name: String, opsPerSecond: Double? = nil, latency: LatencyRecorder? = nil, note: String) {
        self.name = name
        self.opsPerSecond = opsPerSecond
        self.latency = latency
        self.note = note
    }

    /// The same result with a ratio to `baseline` (`baselineRate` operations per second).
    func compared(to baseline: String, rate baselineRate: Double) -> ScenarioResult {
        var result = self
        result.baseline = baseline
        result.ratio = opsPerSecond.map { $0 / baselineRate }
        return result
    }

    private enum CodingKeys: String, CodingKey {
        case name, opsPerSecond = "ops_per_s", p50 = "p50_us", p99 = "p99_us", p999 = "p999_us", max = "max_us"
        case baseline, ratio, bytesPerEntry = "bytes_per_entry", hitRate = "hit_rate"
        case bytesPerWatcher = "bytes_per_watcher", seconds, note
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(opsPerSecond, forKey: .opsPerSecond)
        if let latency, latency.count > 0 {
            try container.encode(latency.microseconds(at: 50), forKey: .p50)
            try container.encode(latency.microseconds(at: 99), forKey: .p99)
            try container.encode(latency.microseconds(at: 99.9), forKey: .p999)
            try container.encode(latency.maximumMicroseconds, forKey: .max)
        }
        try container.encodeIfPresent(baseline, forKey: .baseline)
        try container.encodeIfPresent(ratio, forKey: .ratio)
        try container.encodeIfPresent(bytesPerEntry, forKey: .bytesPerEntry)
        try container.encodeIfPresent(hitRate, forKey: .hitRate)
        try container.encodeIfPresent(bytesPerWatcher, forKey: .bytesPerWatcher)
        try container.encodeIfPresent(seconds, forKey: .seconds)
        try container.encode(note, forKey: .note)
    }

    /// One line for people: rate, latencies, ratio.
    var line: String {
        var parts: [String] = [name.padding(15)]
        if let opsPerSecond {
            parts.append("\(Int(opsPerSecond.rounded()))/s".leftPadding(12))
        }
        if let latency, latency.count > 0 {
            func format(_ value: Double) -> String { value < 10 ? String(format: "%.2f", value) : "\(Int(value.rounded()))" }
            parts.append(
                "p50 \(format(latency.microseconds(at: 50))) p99 \(format(latency.microseconds(at: 99)))"
                    + " p99.9 \(format(latency.microseconds(at: 99.9))) max \(format(latency.maximumMicroseconds)) µs"
            )
        }
        if let ratio, let baseline {
            parts.append(ratio >= 10 ? "\(Int(ratio.rounded())) × \(baseline)" : "\(Int((ratio * 100).rounded())) % of \(baseline)")
        }
        if let bytesPerEntry {
            parts.append("\(Int(bytesPerEntry.rounded())) bytes per entry")
        }
        if let hitRate {
            parts.append(String(format: "hit rate %.4f", hitRate))
        }
        if let bytesPerWatcher {
            parts.append("\(Int(bytesPerWatcher.rounded())) bytes per watcher")
        }
        if let seconds {
            parts.append(String(format: "%.3f s", seconds))
        }
        parts.append("(\(note))")
        return parts.joined(separator: "  ")
    }
}

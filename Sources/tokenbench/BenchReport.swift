import COpenSSL
import Foundation

/// What `tokenbench all` writes: `--json FILE` (the scenarios and the machine) and `--report DIR`
/// (`results.json` and `latency.svg`).
struct BenchReport: Encodable {
    /// The machine the figures come from.
    struct Machine: Encodable {
        let cores: Int
        let cpuModel: String
        let openSSL: String

        enum CodingKeys: String, CodingKey {
            case cores, cpuModel = "cpu_model", openSSL = "openssl"
        }

        static var current: Machine {
            let cpuInfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            let model = cpuInfo.split(separator: "\n").first { $0.hasPrefix("model name") }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
            return Machine(
                cores: ProcessInfo.processInfo.activeProcessorCount,
                cpuModel: model,
                openSSL: String(cString: OpenSSL_version(OPENSSL_VERSION))
            )
        }
    }

    let machine: Machine
    let scenarios: [ScenarioResult]

    /// The scenarios the latency plot shows, in this order.
    static let plotted = ["verify.local", "verify.warm", "validate.rpc", "session.redis"]

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes `results.json` and `latency.svg` into `directory` (created if missing).
    func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try json().write(to: URL(fileURLWithPath: directory).appendingPathComponent("results.json"))
        try Data(latencySVG().utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent("latency.svg"))
    }

    /// A percentile plot: x from 50 % to 99.99 % on the log scale of 1 / (1 − p), y the latency in
    /// microseconds on a log scale, one line per plotted scenario that recorded latencies.
    func latencySVG() -> String {
        let series = Self.plotted.compactMap { name -> (String, [(percentile: Double, microseconds: Double)])? in
            guard let latency = scenarios.first(where: { $0.name == name })?.latency, latency.count > 0 else { return nil }
            return (name, latency.percentileCurve())
        }
        let width = 760.0, height = 460.0, left = 80.0, right = 170.0, top = 30.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let values = series.flatMap { $0.1.map(\.microseconds) }.filter { $0 > 0 }
        let low = floor(log10(max(values.min() ?? 1, 0.01)))
        let high = max(low + 1, ceil(log10(max(values.max() ?? 10, 0.01))))
        func x(_ percentile: Double) -> Double {
            let nines = -log10(max(1e-6, 1 - percentile / 100))
            return left + (nines - 0.30103) / (4 - 0.30103) * plotWidth
        }
        func y(_ microseconds: Double) -> Double {
            top + plotHeight - (log10(max(microseconds, 0.01)) - low) / (high - low) * plotHeight
        }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <title>Latency by percentile</title>
            <rect width="100%" height="100%" fill="white"/>

            """
        svg += "<g id=\"x-axis\" data-scale=\"log-inverse-percentile\">\n"
        svg += "<line x1=\"\(number(left))\" y1=\"\(number(top + plotHeight))\" x2=\"\(number(left + plotWidth))\" y2=\"\(number(top + plotHeight))\" stroke=\"black\"/>\n"
        for (percentile, label) in [(50.0, "50%"), (90, "90%"), (99, "99%"), (99.9, "99.9%"), (99.99, "99.99%")] {
            svg += "<text class=\"tick\" data-value=\"\(percentile)\" x=\"\(number(x(percentile)))\" y=\"\(number(top + plotHeight + 18))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        svg += "<text x=\"\(number(left + plotWidth / 2))\" y=\"\(number(height - 15))\" text-anchor=\"middle\">percentile</text>\n</g>\n"
        svg += "<g id=\"y-axis\" data-scale=\"log10\">\n"
        svg += "<line x1=\"\(number(left))\" y1=\"\(number(top))\" x2=\"\(number(left))\" y2=\"\(number(top + plotHeight))\" stroke=\"black\"/>\n"
        for exponent in Int(low)...Int(high) {
            let value = pow10(Double(exponent))
            let label = value >= 1 ? "\(Int(value))" : String(format: "%g", value)
            svg += "<text class=\"tick\" data-value=\"\(String(format: "%g", value))\" x=\"\(number(left - 8))\" y=\"\(number(y(value) + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        svg += "<text x=\"20\" y=\"\(number(top + plotHeight / 2))\" transform=\"rotate(-90 20 \(number(top + plotHeight / 2)))\" text-anchor=\"middle\">latency (µs)</text>\n</g>\n"
        for (index, (name, curve)) in series.enumerated() {
            let color = colors[index % colors.count]
            let points = curve.map { "\(number(x($0.percentile))),\(number(y($0.microseconds)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" data-name=\"\(name)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
            let legendY = top + 20 * Double(index)
            svg += "<text class=\"legend\" x=\"\(number(left + plotWidth + 15))\" y=\"\(number(legendY + 4))\" fill=\"\(color)\">\(name)</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }
}

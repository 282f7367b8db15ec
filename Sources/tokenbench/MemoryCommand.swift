import ArgumentParser
import Foundation
@_spi(Benchmarks) import TokenClient
import TokenCore

/// Prints the bytes per entry of one of the validator's structures holding `count` entries,
/// measured in this process as the growth of its resident memory while the structure is built:
/// the revocation mirror (`SharedRevocationSet` of revoked token ids) or the verified-token cache.
/// `tokenbench all` runs it as a process of its own, so that memory freed by other scenarios does
/// not hide the growth.
struct MemoryCommand: ParsableCommand {
    enum Structure: String, ExpressibleByArgument {
        case mirror, cache
    }

    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Bytes per entry of the revocation mirror or the verified-token cache (one number).",
        shouldDisplay: false
    )

    @Option(help: "Entries: revoked token ids in the mirror, or verified tokens in the cache.")
    var count: Int = 1_000_000

    @Option(help: "The structure measured: mirror or cache.")
    var structure: Structure = .mirror

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count 1...10000000") }
    }

    func run() throws {
        switch structure {
        case .mirror: try measureMirror()
        case .cache: measureCache()
        }
    }

    private func measureMirror() throws {
        // The events exist before the first reading: only the set's own memory is counted.
        let events = (1...count).map { seq in
            RevocationEvent(
                seq: UInt64(seq), kind: .token, value: (try? TokenID.random().text) ?? "\(seq)", revokedAt: 0,
                expiresAt: .max)
        }
        let before = Self.residentBytes()
        let set = SharedRevocationSet()
        for event in events {
            set.apply(event)
        }
        // A check that needs the whole set keeps the optimizer from building it after the reading.
        guard set.count == count else { throw ValidationError("the mirror holds \(set.count) of \(count) revocations") }
        // The events stay alive until the reading, or their release would hide the set's growth.
        let after = withExtendedLifetime(events) { Self.residentBytes() }
        withExtendedLifetime(set) {
            print(String(format: "%.1f", Double(after - before) / Double(count)))
        }
    }

    private func measureCache() {
        // Digests of distinct texts, made before the first reading.
        let digests = (0..<count).map { SHA256Digest(of: "token-\($0)") }
        let before = Self.residentBytes()
        let cache = TokenValidator.filledCacheForBenchmark(digests)
        let after = withExtendedLifetime(digests) { Self.residentBytes() }
        withExtendedLifetime(cache) {
            print(String(format: "%.1f", Double(after - before) / Double(count)))
        }
    }

    /// A process's resident memory (this one's by default), from `/proc/PID/statm` (0 where it cannot
    /// be read).
    static func residentBytes(ofProcess process: String = "self") -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(process)/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

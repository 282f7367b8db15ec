import ArgumentParser
import Foundation

/// `memory` and `memory.cache`: bytes per entry of the validator's structures.
enum MemoryScenarios {
    /// Bytes per entry of one of the validator's structures holding 1,000,000 entries, measured in a
    /// process of its own (`tokenbench memory --structure …`): the revocation mirror (the server
    /// keeps its revocations in the same shards' `RevocationSet`), or the verified-token cache.
    static func run(_ name: String, structure: String, note: String) throws -> ScenarioResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["memory", "--structure", structure, "--count", "1000000"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, let bytes = Double(text) else {
            throw ValidationError("tokenbench memory failed: \(text)")
        }
        var result = ScenarioResult(name: name, note: note)
        result.bytesPerEntry = bytes
        return result
    }
}

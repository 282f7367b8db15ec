import Foundation

/// A program run to its end, with what it printed on standard output and standard error together.
public struct CapturedRun: Sendable {
    /// Standard output and standard error, interleaved.
    public let output: String
    /// The exit status.
    public let status: Int32

    /// Runs `executable` with `arguments` (in `directory` when given) until it exits.
    /// - Throws: when it cannot be started.
    public static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> Self {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory {
            process.currentDirectoryURL = directory
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Self(output: String(decoding: output, as: UTF8.self), status: process.terminationStatus)
    }
}

import Foundation
import TokenTestSupport

/// One finished run of a binary: its exit status and what it printed.
struct CommandLineRun {
    let status: Int32
    let standardOutput: String
    let standardError: String

    /// The longest a run may take before it is killed (a hang then fails the test instead of blocking it).
    static let limit: DispatchTimeInterval = .seconds(120)

    /// Runs `tokenctl` with `arguments` in `directory`, with no `TOKEND_*` variables, until it exits.
    /// - Throws: when it cannot be started or its output cannot be read.
    static func tokenctl(_ arguments: [String], in directory: String) throws -> CommandLineRun {
        try start(tokenctlArguments: arguments, in: directory).finish()
    }

    /// Starts `tokenctl` without waiting for it; `finish()` waits.
    /// - Throws: when it cannot be started.
    static func start(tokenctlArguments arguments: [String], in directory: String) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BuiltProduct.path("tokenctl"))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TOKEND_") }
        let name = UUID().uuidString
        let output = URL(fileURLWithPath: directory).appendingPathComponent("\(name).out")
        let errors = URL(fileURLWithPath: directory).appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        return Running(process: process, output: output, errors: errors)
    }

    /// A `tokenctl` that was started and not yet waited for.
    struct Running {
        let process: Process
        let output: URL
        let errors: URL

        /// Waits for the process to exit (killing it after `CommandLineRun.limit`).
        /// - Returns: its status and output.
        /// - Throws: when its output cannot be read.
        func finish() throws -> CommandLineRun {
            let process = self.process
            let watchdog = DispatchWorkItem {
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + CommandLineRun.limit, execute: watchdog)
            process.waitUntilExit()
            watchdog.cancel()
            return CommandLineRun(
                status: process.terminationStatus,
                standardOutput: try String(contentsOf: output, encoding: .utf8),
                standardError: try String(contentsOf: errors, encoding: .utf8)
            )
        }
    }

    /// The lines of standard output.
    var lines: [String] {
        standardOutput.split(separator: "\n").map(String.init)
    }

    /// Standard output as one JSON object.
    /// - Throws: when it is not exactly one line holding a JSON object.
    func jsonObject() throws -> [String: Any] {
        guard lines.count == 1, let object = try Self.object(lines[0]) else {
            throw CommandLineRunError(message: "not one JSON object: \(standardOutput)")
        }
        return object
    }

    /// Standard output as one JSON object per line.
    /// - Throws: when a line is not a JSON object.
    func jsonLines() throws -> [[String: Any]] {
        try lines.map { line in
            guard let object = try Self.object(line) else {
                throw CommandLineRunError(message: "not a JSON object: \(line)")
            }
            return object
        }
    }

    private static func object(_ line: String) throws -> [String: Any]? {
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    }
}

/// A run's output was not what a test can read.
struct CommandLineRunError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

import Foundation
import Synchronization
import TokenCore
import TokenTestSupport

/// The real `tokend` binary, started on a loopback port with a callers file of the test callers.
/// Its standard output is read line by line as it comes.
final class TokendProcess {
    let process: Process
    /// The RPC port (from its `tokend listening on` line; the one asked for before that line).
    let port: Int
    private let output = Output()

    /// The lines read so far, and whether the output ended.
    private final class Output: Sendable {
        let state = Mutex<(lines: [String], ended: Bool)>(([], false))
    }

    /// The binary next to the test bundle (both are products of the same build), or `$TOKEND_BINARY`.
    static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["TOKEND_BINARY"] {
            return path
        }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("tokend").path
    }

    /// Writes a callers file for `TestServer.callers` (API key = name) into `directory`.
    static func writeCallersFile(in directory: String) throws -> String {
        let entries = TestServer.callers.map { caller in
            let hash = SHA256.hash(Array(caller.name.utf8)).map { String(format: "%02x", $0) }.joined()
            let roles = caller.roles.map { "\"\($0.rawValue)\"" }.joined(separator: ",")
            return #"{"name":"\#(caller.name)","key_sha256":"\#(hash)","roles":[\#(roles)]}"#
        }
        let path = directory + "/callers.json"
        try Data(#"{"callers":[\#(entries.joined(separator: ","))]}"#.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Starts `tokend` on `dataDirectory` and, unless told not to, waits for its `tokend listening
    /// on` line.
    /// - Parameters:
    ///   - listenPort: the loopback port to listen on (0: a free one; give one when not waiting).
    ///   - errorFile: a file its standard error (the log) goes to, instead of this process's.
    ///   - waitUntilListening: whether to wait for the listening line (at most `timeout`).
    init(
        dataDirectory: String,
        callersFile: String,
        listenPort: Int = 0,
        extraArguments: [String] = [],
        environment: [String: String] = [:],
        errorFile: String? = nil,
        waitUntilListening: Bool = true,
        timeout: Duration = .seconds(60)
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.arguments =
            [
                "--listen", "127.0.0.1:\(listenPort)", "--data-dir", dataDirectory, "--callers", callersFile,
                "--issuer", "https://tokens.test", "--log-level", "warning",
            ] + extraArguments
        let pipe = Pipe()
        process.standardOutput = pipe
        if let errorFile {
            _ = FileManager.default.createFile(atPath: errorFile, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: errorFile)
        }
        let output = self.output
        try process.run()
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                guard !chunk.isEmpty else { break }
                pending.append(chunk)
                while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<end], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...end)
                    output.state.withLock { $0.lines.append(line) }
                }
            }
            output.state.withLock { $0.ended = true }
        }
        guard waitUntilListening else {
            port = listenPort
            return
        }
        let line = try Self.waitForLine(output, startingWith: "tokend listening on ", within: timeout)
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw TokendProcessError(message: "unexpected listening line from tokend: \(line)")
        }
        self.port = port
    }

    /// The lines it printed so far.
    var lines: [String] {
        output.state.withLock { $0.lines }
    }

    /// Waits for a line starting with `prefix` (polling every 10 ms).
    /// - Returns: the line.
    /// - Throws: when tokend exits first or `limit` passes, with what it printed.
    func waitForLine(startingWith prefix: String, within limit: Duration = .seconds(60)) throws -> String {
        try Self.waitForLine(output, startingWith: prefix, within: limit)
    }

    /// The port of its `tokend http listening on` line.
    func httpPort(within limit: Duration = .seconds(60)) throws -> Int {
        let line = try waitForLine(startingWith: "tokend http listening on ", within: limit)
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw TokendProcessError(message: "unexpected http listening line from tokend: \(line)")
        }
        return port
    }

    private static func waitForLine(
        _ output: Output,
        startingWith prefix: String,
        within limit: Duration
    ) throws -> String {
        let deadline = ContinuousClock.now + limit
        while true {
            let (found, lines, ended) = output.state.withLock { output in
                (output.lines.first { $0.hasPrefix(prefix) }, output.lines, output.ended)
            }
            if let found {
                return found
            }
            guard !ended else {
                throw TokendProcessError(message: "tokend exited before printing \(prefix)…; it printed \(lines)")
            }
            guard ContinuousClock.now < deadline else {
                throw TokendProcessError(message: "tokend printed no \(prefix)… within \(limit); it printed \(lines)")
            }
            usleep(10_000)
        }
    }

    /// Runs `tokend` with `arguments` (and `environment` added to this process's) until it exits:
    /// for starts that must fail.
    /// - Returns: its termination status and what it wrote on standard error.
    static func runUntilExit(
        arguments: [String],
        environment: [String: String]
    ) throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryPath)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// Sends `signal` and waits for the process to exit.
    /// - Returns: its termination status.
    @discardableResult
    func stop(signal: Int32) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct TokendProcessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

import Foundation

/// The real `tokend` binary, started on a loopback port with `--data-dir`, `--callers` and
/// `--issuer https://tokens.test`. Its standard output is read as it comes, so a test waits for its
/// listening lines; its standard error (the log) goes where the test says.
public final class TokendProcess {
    /// Where `tokend`'s standard error goes.
    public enum Log {
        /// This process's standard error.
        case inherited
        /// A file, created empty.
        case file(String)
        /// Collected in memory (`log`), for a test to wait for or look into.
        case collected
    }

    public let process: Process
    /// The RPC port (from its `tokend listening on` line; the one asked for before that line).
    public let port: Int
    private let output: PipeCollector
    private let errors: PipeCollector?

    /// `--server` for this server.
    public var address: String { "127.0.0.1:\(port)" }

    /// The binary next to the test bundle, or `$TOKEND_BINARY`.
    public static var binaryPath: String { BuiltProduct.path("tokend") }

    /// Starts `tokend` on `dataDirectory` and, unless told not to, waits for its `tokend listening
    /// on` line.
    /// - Parameters:
    ///   - listenPort: the loopback port to listen on (0: a free one; give one when not waiting).
    ///   - logLevel: `--log-level`, or nil for none (then `extraArguments` may give it).
    ///   - log: where its standard error goes.
    ///   - waitUntilListening: whether to wait for the listening line (at most `timeout`).
    /// - Throws: when it cannot be started, or exits or stays silent before its listening line.
    public init(
        dataDirectory: String,
        callersFile: String,
        listenPort: Int = 0,
        logLevel: String? = "warning",
        extraArguments: [String] = [],
        environment: [String: String] = [:],
        log: Log = .inherited,
        waitUntilListening: Bool = true,
        timeout: Duration = .seconds(60)
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.arguments =
            [
                "--listen", "127.0.0.1:\(listenPort)", "--data-dir", dataDirectory, "--callers", callersFile,
                "--issuer", "https://tokens.test",
            ] + (logLevel.map { ["--log-level", $0] } ?? []) + extraArguments
        let outputPipe = Pipe()
        process.standardOutput = outputPipe
        output = PipeCollector(outputPipe.fileHandleForReading)
        switch log {
        case .inherited:
            errors = nil
        case .file(let path):
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: path)
            errors = nil
        case .collected:
            let errorPipe = Pipe()
            process.standardError = errorPipe
            errors = PipeCollector(errorPipe.fileHandleForReading)
        }
        try process.run()
        guard waitUntilListening else {
            port = listenPort
            return
        }
        port = try Self.port(in: Self.waitForLine(output, startingWith: "tokend listening on ", within: timeout))
    }

    /// The lines it printed so far.
    public var lines: [String] {
        output.lines
    }

    /// Waits for a line starting with `prefix`.
    /// - Returns: the line.
    /// - Throws: when tokend exits first or `limit` passes, with what it printed.
    public func waitForLine(startingWith prefix: String, within limit: Duration = .seconds(60)) throws -> String {
        try Self.waitForLine(output, startingWith: prefix, within: limit)
    }

    /// The port of its `tokend http listening on` line.
    public func httpPort(within limit: Duration = .seconds(60)) throws -> Int {
        try Self.port(in: waitForLine(startingWith: "tokend http listening on ", within: limit))
    }

    /// Its log so far, when started with `log: .collected` ("" otherwise).
    public var log: String {
        errors?.text ?? ""
    }

    /// The size of its log so far, in bytes (an offset for `waitForLog(_:after:)`).
    public var logSize: Int {
        errors?.size ?? 0
    }

    /// Waits until its log holds `text` after `offset` bytes (started with `log: .collected`).
    /// - Throws: when the log ends or `limit` passes first, with the log.
    public func waitForLog(_ text: String, after offset: Int = 0, within limit: Duration = .seconds(60)) throws {
        guard let errors, errors.wait(for: text, after: offset, within: limit) else {
            throw TokendProcessError(message: "tokend's log has no \"\(text)\": \(log)")
        }
    }

    /// Its resident memory now (`VmRSS` of /proc/PID/status), in bytes.
    /// - Throws: when /proc cannot be read or holds no `VmRSS`.
    public func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw TokendProcessError(message: "no VmRSS in /proc status") }
        return kilobytes * 1_024
    }

    /// Sends `signal` without waiting.
    public func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Sends `signal` and waits for the process to exit (and its collected log to end).
    /// - Returns: its termination status.
    @discardableResult
    public func stop(signal: Int32) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        errors?.waitForEnd()
        return process.terminationStatus
    }

    /// Runs `tokend` with `arguments` (and `environment` added to this process's) until it exits:
    /// for starts that must fail.
    /// - Returns: its termination status and what it wrote on standard error.
    public static func runUntilExit(
        arguments: [String],
        environment: [String: String]
    ) throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryPath)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private static func waitForLine(
        _ output: PipeCollector,
        startingWith prefix: String,
        within limit: Duration
    ) throws -> String {
        guard let line = output.waitForLine(startingWith: prefix, within: limit) else {
            throw TokendProcessError(message: "tokend printed no \(prefix)… within \(limit); it printed \(output.lines)")
        }
        return line
    }

    private static func port(in line: String) throws -> Int {
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw TokendProcessError(message: "unexpected listening line from tokend: \(line)")
        }
        return port
    }
}

/// `tokend` did not start or say what a test waited for.
public struct TokendProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}

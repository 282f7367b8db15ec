import Foundation
import TokenCore
import TokenTestSupport

/// The real `tokend` binary, started on a free loopback port with a callers file of the test callers.
final class TokendProcess {
    let process: Process
    let port: Int
    private let output: Pipe

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

    /// Starts `tokend` on `dataDirectory` and waits for its `tokend listening on` line.
    /// - Parameters:
    ///   - listenPort: the loopback port to listen on (0: a free one).
    ///   - errorFile: a file its standard error (the log) goes to, instead of this process's.
    init(
        dataDirectory: String,
        callersFile: String,
        listenPort: Int = 0,
        extraArguments: [String] = [],
        environment: [String: String] = [:],
        errorFile: String? = nil
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.arguments =
            [
                "--listen", "127.0.0.1:\(listenPort)", "--data-dir", dataDirectory, "--callers", callersFile,
                "--issuer", "https://tokens.test", "--log-level", "warning",
            ] + extraArguments
        output = Pipe()
        process.standardOutput = output
        if let errorFile {
            FileManager.default.createFile(atPath: errorFile, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: errorFile)
        }
        try process.run()
        port = try Self.readListeningPort(from: output.fileHandleForReading)
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

    private static func readListeningPort(from handle: FileHandle) throws -> Int {
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            guard !chunk.isEmpty else {
                throw TokendProcessError(message: "tokend exited before listening: \(String(decoding: line, as: UTF8.self))")
            }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let prefix = "tokend listening on "
        guard let first = text.split(separator: "\n").first, first.hasPrefix(prefix),
            let port = first.split(separator: ":").last.flatMap({ Int($0) })
        else {
            throw TokendProcessError(message: "unexpected first line from tokend: \(text)")
        }
        return port
    }
}

struct TokendProcessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

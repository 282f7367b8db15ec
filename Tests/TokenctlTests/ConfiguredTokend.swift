import Foundation
import TokenCore
import TokenTestSupport

/// The real `tokend` binary with extra flags, callers whose API keys are random (so a test can look
/// for them in the log), and its standard error collected as it is written.
final class ConfiguredTokend {
    /// The callers the server knows, with their roles.
    static let callers: [(name: String, roles: [String])] = [
        ("admin", ["admin"]),
        ("issuer", ["issue"]),
        ("gateway", ["validate", "refresh", "revoke"]),
    ]

    let directory: String
    let port: Int
    /// The HTTP port, when started with `--http-listen`.
    let httpPort: Int?
    /// Each caller's API key.
    let keys: [String: String]
    private let process: Process
    private let log: LogCollector

    /// `--server` for this server.
    var address: String { "127.0.0.1:\(port)" }

    /// Starts `tokend` with `arguments` after the required ones and waits for its ready line(s).
    /// - Parameters:
    ///   - directory: where the callers file, key files and data go (made when nil).
    ///   - arguments: extra flags; `--http-listen` makes it wait for the second line too.
    /// - Throws: when it cannot be started or does not report its ports.
    init(directory: String? = nil, arguments: [String]) throws {
        let directory = try directory ?? TemporaryDirectory.make(prefix: "tokend-edges")
        self.directory = directory
        var entries: [[String: Any]] = []
        var keys: [String: String] = [:]
        for caller in Self.callers {
            let key = "tk_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            keys[caller.name] = key
            let hash = SHA256.hash(Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
            entries.append(["name": caller.name, "key_sha256": hash, "roles": caller.roles])
            try Data(key.utf8).write(to: URL(fileURLWithPath: directory + "/\(caller.name).key"))
        }
        self.keys = keys
        let callersFile = directory + "/callers.json"
        try JSONSerialization.data(withJSONObject: ["callers": entries]).write(to: URL(fileURLWithPath: callersFile))
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineRun.binaryPath("tokend"))
        process.arguments =
            [
                "--listen", "127.0.0.1:0", "--data-dir", directory + "/data", "--callers", callersFile,
                "--issuer", "https://tokens.test",
            ] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        log = LogCollector(errors.fileHandleForReading)
        try process.run()
        let lines = try Self.readLines(arguments.contains("--http-listen") ? 2 : 1, from: output.fileHandleForReading)
        port = try Self.port(in: lines[0], prefix: "tokend listening on ")
        httpPort = lines.count > 1 ? try Self.port(in: lines[1], prefix: "tokend http listening on ") : nil
    }

    /// The key file of the named caller.
    func keyFile(_ caller: String) -> String {
        directory + "/\(caller).key"
    }

    /// Runs `tokenctl` with `arguments` in this server's directory.
    func tokenctl(_ arguments: [String]) throws -> CommandLineRun {
        try CommandLineRun.tokenctl(arguments, in: directory)
    }

    /// Sends `signal` to the process.
    func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits until standard error holds `text` (after `offset` bytes).
    /// - Throws: when the process closes standard error first.
    func waitForLog(_ text: String, after offset: Int = 0) throws {
        guard log.wait(for: text, after: offset) else {
            throw CommandLineRunError(message: "tokend's log ended without \"\(text)\": \(log.text)")
        }
    }

    /// The log so far, in bytes (an offset for `waitForLog`).
    var logSize: Int { log.size }

    /// Stops the process with SIGTERM and returns its whole standard error.
    func stop() -> (status: Int32, log: String) {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        _ = log.wait(for: nil, after: 0)
        return (process.terminationStatus, log.text)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func readLines(_ count: Int, from handle: FileHandle) throws -> [String] {
        var data = Data()
        while data.filter({ $0 == UInt8(ascii: "\n") }).count < count {
            let chunk = handle.availableData
            guard !chunk.isEmpty else {
                throw CommandLineRunError(message: "tokend exited before listening: \(String(decoding: data, as: UTF8.self))")
            }
            data.append(chunk)
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    private static func port(in line: String, prefix: String) throws -> Int {
        guard line.hasPrefix(prefix), let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw CommandLineRunError(message: "unexpected line from tokend: \(line)")
        }
        return port
    }
}

/// Drains a pipe on its own thread, so the writer never blocks, and lets tests wait for text in it.
private final class LogCollector: @unchecked Sendable {
    // @unchecked: `bytes` and `ended` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var bytes = Data()
    private var ended = false

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty {
                    ended = true
                } else {
                    bytes.append(chunk)
                }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { return }
            }
        }
        thread.start()
    }

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: bytes, as: UTF8.self)
    }

    var size: Int {
        condition.lock()
        defer { condition.unlock() }
        return bytes.count
    }

    /// Waits until the bytes after `offset` contain `text` (true) or the pipe ends (false); a nil
    /// `text` waits for the end.
    func wait(for text: String?, after offset: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let text, bytes.count > offset,
                String(decoding: bytes[(bytes.startIndex + offset)...], as: UTF8.self).contains(text)
            {
                return true
            }
            if ended { return text == nil }
            condition.wait()
        }
    }
}

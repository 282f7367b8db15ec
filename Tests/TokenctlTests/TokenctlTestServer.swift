import Foundation
import TokenTestSupport

/// The real `tokend` on a free loopback port, in a directory that also holds one key file per test
/// caller (random API keys, so a test can look for them in the log), with its log collected; and
/// `tokenctl` run against it.
final class TokenctlTestServer {
    /// The callers the server knows, with their roles.
    static let callerRoles: [(name: String, roles: [String])] = [
        ("admin", ["admin"]),
        ("issuer", ["issue"]),
        ("gateway", ["validate", "refresh", "revoke"]),
    ]

    let directory: String
    /// Each caller's API key.
    let keys: [String: String]
    /// The HTTP port, when started with `--http-listen`.
    let httpPort: Int?
    private let tokend: TokendProcess

    /// `--server` for this server.
    var address: String { tokend.address }

    /// Starts `tokend` with `arguments` after the required ones and waits for its listening line(s).
    /// - Parameters:
    ///   - directory: where the callers file, key files and data go (made when nil); removed at the end.
    ///   - arguments: extra flags; with `--http-listen` it waits for the HTTP port's line too.
    /// - Throws: when it cannot be started or does not report its ports.
    init(directory: String? = nil, arguments: [String] = ["--log-level", "warning"]) throws {
        let directory = try directory ?? TemporaryDirectory.make(prefix: "tokenctl-test")
        self.directory = directory
        let callers = TestCallers.withRandomKeys(Self.callerRoles)
        keys = Dictionary(uniqueKeysWithValues: callers.callers.map { ($0.name, $0.key) })
        try callers.writeKeyFiles(in: directory)
        tokend = try TokendProcess(
            dataDirectory: directory + "/data",
            callersFile: callers.writeCallersFile(in: directory),
            logLevel: nil,
            extraArguments: arguments,
            log: .collected
        )
        httpPort = arguments.contains("--http-listen") ? try tokend.httpPort() : nil
    }

    /// The key file of the named caller.
    func keyFile(_ caller: String) -> String {
        directory + "/\(caller).key"
    }

    /// Runs `tokenctl` with `arguments` in this server's directory.
    /// - Throws: when it cannot be started.
    func tokenctl(_ arguments: [String]) throws -> CommandLineRun {
        try CommandLineRun.tokenctl(arguments, in: directory)
    }

    /// Runs `tokenctl` against this server as `caller`: `--server` and `--key-file` after the command.
    /// - Throws: when it cannot be started.
    func tokenctl(as caller: String, _ arguments: [String]) throws -> CommandLineRun {
        try tokenctl(withConnection(arguments, as: caller))
    }

    /// `arguments` with `--server` and `--key-file` for `caller` after the command's name.
    func withConnection(_ arguments: [String], as caller: String) -> [String] {
        guard let command = arguments.first else { return arguments }
        return [command, "--server", address, "--key-file", keyFile(caller)] + arguments.dropFirst()
    }

    /// Sends `signal` to the process.
    func send(_ signal: Int32) {
        tokend.send(signal)
    }

    /// Waits until the log holds `text` after `offset` bytes.
    /// - Throws: when the log ends first.
    func waitForLog(_ text: String, after offset: Int = 0) throws {
        try tokend.waitForLog(text, after: offset)
    }

    /// The log so far, in bytes (an offset for `waitForLog`).
    var logSize: Int { tokend.logSize }

    /// Stops the process with SIGTERM and returns its whole log.
    func stop() -> (status: Int32, log: String) {
        let status = tokend.stop(signal: SIGTERM)
        return (status, tokend.log)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

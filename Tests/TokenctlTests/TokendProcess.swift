import Foundation
import TokenCore
import TokenTestSupport

/// The real `tokend` binary on a free loopback port, in a fresh directory that also holds one key file per
/// test caller (the API key of each caller is its name).
final class TokendProcess {
    /// The callers the server knows, with their roles.
    static let callers: [(name: String, roles: [String])] = [
        ("admin", ["admin"]),
        ("issuer", ["issue"]),
        ("gateway", ["validate", "refresh", "revoke"]),
    ]

    let directory: String
    let port: Int
    private let process: Process

    /// `--server` for this server.
    var address: String { "127.0.0.1:\(port)" }

    /// Starts `tokend` and waits for its `tokend listening on` line.
    /// - Throws: when it cannot be started or does not report its port.
    init() throws {
        directory = try TemporaryDirectory.make(prefix: "tokenctl-test")
        var entries: [[String: Any]] = []
        for caller in Self.callers {
            let hash = SHA256.hash(Array(caller.name.utf8)).map { String(format: "%02x", $0) }.joined()
            entries.append(["name": caller.name, "key_sha256": hash, "roles": caller.roles])
            try Data(caller.name.utf8).write(to: URL(fileURLWithPath: directory + "/\(caller.name).key"))
        }
        let callersFile = directory + "/callers.json"
        try JSONSerialization.data(withJSONObject: ["callers": entries]).write(to: URL(fileURLWithPath: callersFile))
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineRun.binaryPath("tokend"))
        process.arguments = [
            "--listen", "127.0.0.1:0", "--data-dir", directory + "/data", "--callers", callersFile,
            "--issuer", "https://tokens.test", "--log-level", "warning",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        port = try Self.readListeningPort(from: output.fileHandleForReading)
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

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func readListeningPort(from handle: FileHandle) throws -> Int {
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            guard !chunk.isEmpty else {
                let text = String(decoding: line, as: UTF8.self)
                throw CommandLineRunError(message: "tokend exited before listening: \(text)")
            }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let prefix = "tokend listening on "
        guard let first = text.split(separator: "\n").first, first.hasPrefix(prefix),
            let port = first.split(separator: ":").last.flatMap({ Int($0) })
        else {
            throw CommandLineRunError(message: "unexpected first line from tokend: \(text)")
        }
        return port
    }
}

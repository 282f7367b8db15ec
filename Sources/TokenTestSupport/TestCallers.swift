import Foundation
import TokenCore

/// The callers a test's `tokend` knows: each with its roles and its API key, written as a callers
/// file (keys stored as SHA-256 digests) and, for `tokenctl --key-file`, one key file per caller.
public struct TestCallers: Sendable {
    /// One caller: its name, its roles (`"admin"`, `"issue"`, ...) and its API key.
    public struct Caller: Sendable {
        public let name: String
        public let roles: [String]
        public let key: String

        public init(name: String, roles: [String], key: String) {
            self.name = name
            self.roles = roles
            self.key = key
        }
    }

    public let callers: [Caller]

    public init(_ callers: [Caller]) {
        self.callers = callers
    }

    /// Callers whose API keys are random (so a test can look for them in a log).
    public static func withRandomKeys(_ roles: [(name: String, roles: [String])]) -> Self {
        Self(
            roles.map { caller in
                let key = "tk_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
                return Caller(name: caller.name, roles: caller.roles, key: key)
            })
    }

    /// Writes `callers.json` into `directory`.
    /// - Returns: its path.
    public func writeCallersFile(in directory: String) throws -> String {
        let entries: [[String: Any]] = callers.map { caller in
            let digest = SHA256.hash(Array(caller.key.utf8)).map { String(format: "%02x", $0) }.joined()
            return ["name": caller.name, "key_sha256": digest, "roles": caller.roles]
        }
        let path = directory + "/callers.json"
        try JSONSerialization.data(withJSONObject: ["callers": entries]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes each caller's key into `<directory>/<name>.key`.
    public func writeKeyFiles(in directory: String) throws {
        for caller in callers {
            try Data(caller.key.utf8).write(to: URL(fileURLWithPath: directory + "/\(caller.name).key"))
        }
    }
}

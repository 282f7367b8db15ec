import TokenCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The configured callers: maps a presented API key to a `Caller`.
///
/// Keys are compared by their SHA-256 digests in constant time against every entry, so neither the
/// matching entry nor the number of matching bytes shows in the timing.
public struct CallerRegistry: Sendable {
    /// The largest callers file accepted, in bytes.
    public static let maxFileBytes = 1 << 20

    private static let digestLength = 32

    private let entries: [CallerEntry]

    /// Creates a registry from entries.
    /// - Parameter entries: the callers; an entry whose digest is not 32 bytes never matches.
    public init(entries: [CallerEntry]) {
        self.entries = entries
    }

    /// Loads a callers file: `{"callers": [{"name": …, "key_sha256": "<64 hex>", "roles": […]}]}`.
    /// - Parameter path: the file's path.
    /// - Throws: `RPCConfigurationError` when the file is unreadable, over `maxFileBytes`, not valid
    ///   JSON of that shape, or holds bad hex, an unknown role, or a duplicate name or key.
    public init(contentsOfFile path: String) throws(RPCConfigurationError) {
        let bytes = try Self.readFile(path)
        let file: CallersFile
        do {
            file = try JSONDecoder().decode(CallersFile.self, from: Data(bytes))
        } catch {
            throw .invalidCallersFile(path, reason: "not a JSON object with a \"callers\" array of callers")
        }
        var entries: [CallerEntry] = []
        var names: Set<String> = []
        var digests: Set<[UInt8]> = []
        for (index, caller) in file.callers.enumerated() {
            guard !caller.name.isEmpty else {
                throw .invalidCallersFile(path, reason: "caller \(index) has an empty name")
            }
            guard let digest = Hex.decode(caller.keySHA256), digest.count == Self.digestLength else {
                throw .invalidCallersFile(path, reason: "caller \"\(caller.name)\": key_sha256 must be 64 hex digits")
            }
            var roles: Set<Role> = []
            for name in caller.roles {
                guard let role = Role(rawValue: name) else {
                    throw .invalidCallersFile(path, reason: "caller \"\(caller.name)\": unknown role \"\(name)\"")
                }
                roles.insert(role)
            }
            guard names.insert(caller.name).inserted else {
                throw .invalidCallersFile(path, reason: "duplicate caller name \"\(caller.name)\"")
            }
            guard digests.insert(digest).inserted else {
                throw .invalidCallersFile(path, reason: "caller \"\(caller.name)\" repeats another caller's key")
            }
            entries.append(CallerEntry(name: caller.name, keySHA256: digest, roles: roles))
        }
        self.init(entries: entries)
    }

    /// The caller whose key is `credential`.
    /// - Parameter credential: the presented API key.
    /// - Returns: the caller, or nil when the credential is empty or matches no entry.
    public func authenticate(credential: String) -> Caller? {
        guard !credential.isEmpty else { return nil }
        let digest = SHA256.hash(credential.utf8)
        var match: CallerEntry?
        // Every entry is compared, in constant time, whichever matches.
        for entry in entries where entry.keySHA256.count == Self.digestLength {
            if constantTimeEquals(digest, entry.keySHA256), match == nil {
                match = entry
            }
        }
        return match.map { Caller(name: $0.name, roles: $0.roles) }
    }

    /// Reads at most `limit` bytes of a file; larger files are rejected.
    static func readFile(_ path: String, limit: Int = maxFileBytes) throws(RPCConfigurationError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadableFile(path, errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path, errno: errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= limit else { throw .fileTooLarge(path, limit: limit) }
        }
    }
}

/// The JSON shape of a callers file.
private struct CallersFile: Decodable {
    struct Entry: Decodable {
        enum CodingKeys: String, CodingKey {
            case name
            case keySHA256 = "key_sha256"
            case roles
        }

        var name: String
        var keySHA256: String
        var roles: [String]
    }

    var callers: [Entry]
}

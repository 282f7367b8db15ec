/// An error in the RPC runtime's configuration, e.g. an unreadable or malformed callers file.
///
/// Opaque so that cases can be added without breaking callers; compare with the static members.
public struct RPCConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case unreadableFile(path: String, errno: Int32)
        case fileTooLarge(path: String, limit: Int)
        case invalidCallersFile(path: String, reason: String)
        case invalidEndpoint(String)
        case invalidTLSFile(path: String, reason: String)
        case invalidTLSConfiguration(String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The file could not be opened or read.
    public static func unreadableFile(_ path: String, errno: Int32) -> Self {
        Self(.unreadableFile(path: path, errno: errno))
    }

    /// The file exceeds the size limit.
    public static func fileTooLarge(_ path: String, limit: Int) -> Self {
        Self(.fileTooLarge(path: path, limit: limit))
    }

    /// The callers file is not valid (bad JSON, bad hex, unknown role, duplicate name or key).
    public static func invalidCallersFile(_ path: String, reason: String) -> Self {
        Self(.invalidCallersFile(path: path, reason: reason))
    }

    /// An endpoint is not of the form `host:port`.
    public static func invalidEndpoint(_ text: String) -> Self {
        Self(.invalidEndpoint(text))
    }

    /// A TLS certificate or key file does not hold what it should.
    public static func invalidTLSFile(_ path: String, reason: String) -> Self {
        Self(.invalidTLSFile(path: path, reason: reason))
    }

    /// The TLS files do not make a usable configuration (e.g. the key does not match the certificate).
    public static func invalidTLSConfiguration(_ reason: String) -> Self {
        Self(.invalidTLSConfiguration(reason))
    }

    public var description: String {
        switch base {
        case .unreadableFile(let path, let errno):
            "cannot read \(path) (errno \(errno))"
        case .fileTooLarge(let path, let limit):
            "\(path) is larger than \(limit) bytes"
        case .invalidCallersFile(let path, let reason):
            "invalid callers file \(path): \(reason)"
        case .invalidEndpoint(let text):
            "invalid endpoint \"\(text)\": expected host:port with a port from 0 to 65535"
        case .invalidTLSFile(let path, let reason):
            "invalid TLS file \(path): \(reason)"
        case .invalidTLSConfiguration(let reason):
            "invalid TLS configuration: \(reason)"
        }
    }
}

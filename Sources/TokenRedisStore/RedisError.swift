/// An error of the Redis client.
public struct RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case connection(String)
        case timeout
        case protocolViolation(String)
        case server(String)
        case authentication(String)
        case configuration(String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The connection could not be opened, was lost, or is backing off after a failure.
    public static func connection(_ detail: String) -> Self { Self(.connection(detail)) }

    /// No reply came within the command timeout. The command may still be carried out; the
    /// connection stays open.
    public static let timeout = Self(.timeout)

    /// The server sent bytes that are not RESP, or a reply over a size limit.
    public static func protocolViolation(_ detail: String) -> Self { Self(.protocolViolation(detail)) }

    /// The server answered the command with an error reply (`-ERR ...`).
    public static func server(_ message: String) -> Self { Self(.server(message)) }

    /// `AUTH` or `SELECT` was refused: retrying will not help.
    public static func authentication(_ message: String) -> Self { Self(.authentication(message)) }

    /// A `redis://` URL or a setting is not valid.
    public static func configuration(_ detail: String) -> Self { Self(.configuration(detail)) }

    /// The server's error message, for `server` errors; nil for the others.
    public var serverMessage: String? {
        if case .server(let message) = base { return message }
        return nil
    }

    /// True when the server could not be reached or answered too late: nothing is known to be done.
    public var isConnectionFailure: Bool {
        switch base {
        case .connection, .timeout, .protocolViolation: true
        default: false
        }
    }

    /// True for `authentication` errors.
    public var isAuthenticationFailure: Bool {
        if case .authentication = base { return true }
        return false
    }

    public var description: String {
        switch base {
        case .connection(let detail): "redis connection failed: \(detail)"
        case .timeout: "redis did not answer in time"
        case .protocolViolation(let detail): "redis protocol violation: \(detail)"
        case .server(let message): "redis error: \(message)"
        case .authentication(let message): "redis refused the login: \(message)"
        case .configuration(let detail): "redis configuration: \(detail)"
        }
    }
}

/// The error of a call: a status code of the wire contract and a human-readable reason.
///
/// Handlers throw it to answer a specific code; clients receive it for every failed call.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A gRPC status code number.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public let rawValue: UInt32

        /// Wraps a status code number (numbers this version does not name are kept as they are).
        public init(rawValue: UInt32) {
            self.rawValue = rawValue
        }

        /// Success.
        public static let ok = Code(rawValue: 0)
        /// The call was cancelled, typically by the caller.
        public static let cancelled = Code(rawValue: 1)
        /// An error without a better code.
        public static let unknown = Code(rawValue: 2)
        /// The request is malformed.
        public static let invalidArgument = Code(rawValue: 3)
        /// The deadline passed before the call completed.
        public static let deadlineExceeded = Code(rawValue: 4)
        /// A requested entity was not found.
        public static let notFound = Code(rawValue: 5)
        /// The entity to create already exists.
        public static let alreadyExists = Code(rawValue: 6)
        /// The caller lacks the role the method needs.
        public static let permissionDenied = Code(rawValue: 7)
        /// A limit was reached (frame size, calls in flight, stream backlog).
        public static let resourceExhausted = Code(rawValue: 8)
        /// The system is not in a state the call needs.
        public static let failedPrecondition = Code(rawValue: 9)
        /// The call was aborted, e.g. by a concurrency conflict.
        public static let aborted = Code(rawValue: 10)
        /// A value is out of its valid range.
        public static let outOfRange = Code(rawValue: 11)
        /// The method is not known.
        public static let unimplemented = Code(rawValue: 12)
        /// An internal error; details are in the server's log only.
        public static let internalError = Code(rawValue: 13)
        /// The service (or the connection to it) is unavailable; the call may be retried.
        public static let unavailable = Code(rawValue: 14)
        /// Unrecoverable data loss.
        public static let dataLoss = Code(rawValue: 15)
        /// The credential is missing or unknown.
        public static let unauthenticated = Code(rawValue: 16)

        private static let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ]

        /// The code's gRPC name, e.g. `INVALID_ARGUMENT`.
        public var description: String {
            guard let index = Int(exactly: rawValue), index < Self.names.count else { return "CODE_\(rawValue)" }
            return Self.names[index]
        }
    }

    /// The status code.
    public var code: Code
    /// A human-readable reason (never a credential or a payload).
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: the status code.
    ///   - message: a human-readable reason.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String {
        message.isEmpty ? code.description : "\(code): \(message)"
    }

    /// The call was cancelled.
    public static func cancelled(_ message: String = "call cancelled") -> Self {
        Self(code: .cancelled, message: message)
    }
    /// An error without a better code.
    public static func unknown(_ message: String) -> Self { Self(code: .unknown, message: message) }
    /// The request is malformed.
    public static func invalidArgument(_ message: String) -> Self { Self(code: .invalidArgument, message: message) }
    /// The deadline passed.
    public static func deadlineExceeded(_ message: String = "deadline exceeded") -> Self {
        Self(code: .deadlineExceeded, message: message)
    }
    /// A requested entity was not found.
    public static func notFound(_ message: String) -> Self { Self(code: .notFound, message: message) }
    /// The entity to create already exists.
    public static func alreadyExists(_ message: String) -> Self { Self(code: .alreadyExists, message: message) }
    /// The caller lacks the method's role.
    public static func permissionDenied(_ message: String) -> Self { Self(code: .permissionDenied, message: message) }
    /// A limit was reached.
    public static func resourceExhausted(_ message: String) -> Self { Self(code: .resourceExhausted, message: message) }
    /// The system is not in a state the call needs.
    public static func failedPrecondition(_ message: String) -> Self {
        Self(code: .failedPrecondition, message: message)
    }
    /// The call was aborted.
    public static func aborted(_ message: String) -> Self { Self(code: .aborted, message: message) }
    /// A value is out of range.
    public static func outOfRange(_ message: String) -> Self { Self(code: .outOfRange, message: message) }
    /// The method is not known.
    public static func unimplemented(_ message: String) -> Self { Self(code: .unimplemented, message: message) }
    /// An internal error.
    public static func internalError(_ message: String = "internal error") -> Self {
        Self(code: .internalError, message: message)
    }
    /// The service is unavailable.
    public static func unavailable(_ message: String) -> Self { Self(code: .unavailable, message: message) }
    /// Unrecoverable data loss.
    public static func dataLoss(_ message: String) -> Self { Self(code: .dataLoss, message: message) }
    /// The credential is missing or unknown.
    public static func unauthenticated(_ message: String) -> Self { Self(code: .unauthenticated, message: message) }
}

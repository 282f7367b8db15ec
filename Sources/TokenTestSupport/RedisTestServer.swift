import Foundation

/// The Redis server the Redis store's tests run against: `TOKEN_REDIS_URL` (tools/test starts a
/// private `redis-server` and sets it).
public enum RedisTestServer {
    /// The URL, or nil when `TOKEN_REDIS_URL` is not set.
    public static var url: String? {
        ProcessInfo.processInfo.environment["TOKEN_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// True when the Redis tests must run: a server is configured, or this is CI (where a missing
    /// server is a failure, not a reason to skip).
    public static var isRequired: Bool {
        url != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// The URL.
    /// - Throws: when `TOKEN_REDIS_URL` is not set.
    public static func requiredURL() throws -> String {
        guard let url else { throw MissingServer() }
        return url
    }

    /// `TOKEN_REDIS_URL` is not set.
    public struct MissingServer: Error, CustomStringConvertible {
        public var description: String {
            "TOKEN_REDIS_URL is not set: run tools/test, or start redis-server and set it"
        }
    }
}

import ArgumentParser
import Foundation
import Logging
import TokenRPC
import TokenRedisStore

#if canImport(Glibc)
import Glibc
#endif

/// The Redis store's options besides `--store`: passwords kept off the command line (where `ps`
/// shows them), and the TLS settings of `rediss://`.
struct RedisStoreOptions: ParsableArguments {
    /// The environment variable that may hold the Redis password.
    static let passwordVariable = "TOKEND_REDIS_PASSWORD"
    /// The environment variable that may hold the sentinels' password.
    static let sentinelPasswordVariable = "TOKEND_REDIS_SENTINEL_PASSWORD"

    @Option(
        help: """
            File holding the Redis password (of the master, with redis-sentinel://), instead of in the \
            --store URL; or set \(passwordVariable).
            """)
    var storePasswordFile: String?

    @Option(help: "File holding the sentinels' password (redis-sentinel://); or set \(sentinelPasswordVariable).")
    var storeSentinelPasswordFile: String?

    @Option(help: "CA certificates, PEM, trusted for a rediss:// server's certificate (default: the system's).")
    var storeTlsCa: String?

    @Option(help: "Client certificate chain, PEM, for rediss:// with mutual TLS (with --store-tls-key).")
    var storeTlsCert: String?

    @Option(help: "Private key, PEM, of --store-tls-cert.")
    var storeTlsKey: String?

    @Option(help: "The name a rediss:// server's certificate must carry (default: the --store host).")
    var storeTlsServerName: String?

    /// Adds the passwords and TLS settings to the configuration `--store` gave.
    /// - Parameters:
    ///   - redis: the configuration parsed from the `--store` URL.
    ///   - environment: the process's environment.
    ///   - logger: where a warning about a password file others can read goes.
    /// - Throws: `StartupError` for a password given twice or not readable, or TLS options
    ///   without `rediss://` (never naming a password).
    func apply(to redis: inout RedisConfiguration, environment: [String: String], logger: Logger) throws {
        redis.password = try Self.secret(
            url: redis.password, file: storePasswordFile, fileOption: "--store-password-file",
            variable: Self.passwordVariable, environment: environment, logger: logger)
        let sentinelPassword = try Self.secret(
            url: nil, file: storeSentinelPasswordFile, fileOption: "--store-sentinel-password-file",
            variable: Self.sentinelPasswordVariable, environment: environment, logger: logger)
        if sentinelPassword != nil, redis.sentinels.isEmpty {
            throw StartupError("a sentinels' password needs a redis-sentinel:// --store")
        }
        redis.sentinelPassword = sentinelPassword
        let tlsOptions = [storeTlsCa, storeTlsCert, storeTlsKey, storeTlsServerName]
        guard var tls = redis.tls else {
            if tlsOptions.contains(where: { $0 != nil }) {
                throw StartupError("the --store-tls-* options need a rediss:// --store")
            }
            return
        }
        tls.trustRootsFile = storeTlsCa
        tls.certificateChainFile = storeTlsCert
        tls.privateKeyFile = storeTlsKey
        tls.serverName = storeTlsServerName
        do {
            try tls.checkFiles()
        } catch {
            throw StartupError("--store TLS: \(error)")
        }
        redis.tls = tls
    }

    /// The one password among the URL's, a file's and an environment variable's; nil for none.
    private static func secret(
        url: String?,
        file: String?,
        fileOption: String,
        variable: String,
        environment: [String: String],
        logger: Logger
    ) throws -> String? {
        var sources: [(name: String, value: String)] = []
        if let url {
            sources.append(("the --store URL", url))
        }
        if let file {
            sources.append((fileOption, try readPassword(file, option: fileOption, logger: logger)))
        }
        if let value = environment[variable], !value.isEmpty {
            sources.append((variable, value))
        }
        guard sources.count <= 1 else {
            throw StartupError(
                "a Redis password is given by \(sources.map(\.name).joined(separator: " and ")): give it once")
        }
        return sources.first?.value
    }

    /// The file's content without surrounding whitespace (a trailing newline).
    private static func readPassword(_ path: String, option: String, logger: Logger) throws -> String {
        let secret: (text: String, exposed: Bool)
        do {
            secret = try SecretFile.read(path, holding: "password")
        } catch {
            throw StartupError("\(option): \(path) \(error)")
        }
        if secret.exposed {
            logger.warning("the Redis password file can be read by group or others", metadata: ["path": "\(path)"])
        }
        return secret.text
    }
}

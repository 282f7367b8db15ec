import ArgumentParser
import Foundation
import TokenClient
import TokenRPC

/// Where the service is and which API key to present.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "The service, HOST:PORT (default: $TOKEND_ADDR or 127.0.0.1:7070).")
    var server: String?

    @Option(name: .long, help: "API key file (default: $TOKEND_KEY, else .tokend/admin.key when present).")
    var keyFile: String?

    @Option(name: .long, help: "Call timeout in seconds.")
    var timeout: Int = 10

    @Option(name: .long, help: "Speak TLS, trusting the CA certificates in this PEM file.")
    var tlsCa: String?

    @Option(name: .long, help: "Client certificate chain for mutual TLS, PEM (with --tls-key).")
    var tlsCert: String?

    @Option(name: .long, help: "Private key of --tls-cert, PEM.")
    var tlsKey: String?

    @Option(name: .long, help: "The name the server's certificate must carry (default: the --server host).")
    var tlsServerName: String?

    /// The longest key file read.
    private static let maxKeyFileBytes = 4_096

    /// Rejects a bad --server or --timeout and an unreadable --key-file as usage errors, before any call.
    func validate() throws {
        _ = try endpoint(environment: ProcessInfo.processInfo.environment)
        if let keyFile {
            _ = try Self.readKey(at: keyFile)
        }
        guard timeout > 0 else {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        do {
            try tls?.checkFiles()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// TLS settings: on when any --tls option is given (without --tls-ca, the system's CAs are trusted).
    var tls: RPCClientTLSConfiguration? {
        guard tlsCa != nil || tlsCert != nil || tlsServerName != nil else { return nil }
        return RPCClientTLSConfiguration(
            trustRootsFile: tlsCa,
            certificateChainFile: tlsCert,
            privateKeyFile: tlsKey,
            serverName: tlsServerName
        )
    }

    /// Runs `body` with a client connected to the service, closing it afterwards.
    /// - Parameter body: the calls to make.
    /// - Returns: what `body` returns.
    /// - Throws: `ValidationError` for bad options, else what `body` throws (`RPCError` from the service).
    func withClient<T>(_ body: (TokenServiceClient) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        let rpc = RPCClient(
            endpoints: [try endpoint(environment: environment)],
            configuration: RPCClientConfiguration(tls: tls),
            credential: try credential(environment: environment)
        )
        do {
            let result = try await body(TokenServiceClient(wrapping: rpc))
            await rpc.close()
            return result
        } catch {
            await rpc.close()
            throw error
        }
    }

    var callTimeout: Duration { .seconds(timeout) }

    /// The service's endpoint: `--server`, else `$TOKEND_ADDR`, else 127.0.0.1:7070.
    func endpoint(environment: [String: String]) throws -> RPCEndpoint {
        let address = server ?? environment["TOKEND_ADDR"] ?? "127.0.0.1:7070"
        do {
            return try RPCEndpoint(parsing: address)
        } catch {
            throw ValidationError("--server must be HOST:PORT, not \(address)")
        }
    }

    /// The API key: `--key-file`, else `$TOKEND_KEY`, else `.tokend/admin.key` when present.
    func credential(environment: [String: String]) throws -> String {
        if let keyFile {
            return try Self.readKey(at: keyFile)
        }
        if let key = environment["TOKEND_KEY"], !key.isEmpty {
            return key
        }
        if FileManager.default.fileExists(atPath: ".tokend/admin.key") {
            return try Self.readKey(at: ".tokend/admin.key")
        }
        return ""
    }

    private static func readKey(at path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ValidationError("cannot read the key file \(path)")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maxKeyFileBytes + 1)) ?? Data()
        guard data.count <= maxKeyFileBytes, let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("the key file \(path) is not a short text file")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import ArgumentParser
import TokenWire

/// `tokenctl issue`: mints a token for a subject.
struct IssueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue an access token for a subject.",
        discussion: """
            JSON: {"access_token", "token_id", "session_id", "key_id", "expires_at", "refresh_token", \
            "refresh_expires_at"} (the refresh fields empty and 0 without --refresh).
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Argument(help: "The subject (sub).")
    var subject: String

    @Option(name: .customLong("audience"), help: "An audience (aud); repeatable.")
    var audience: [String] = []

    @Option(name: .customLong("scope"), help: "A scope; repeatable.")
    var scopes: [String] = []

    @Option(name: .customLong("ttl"), help: "Access token lifetime in seconds (default: the server's).")
    var ttl: UInt32 = 0

    @Option(name: .customLong("claims"), help: "Extra claims, a JSON object.")
    var claims: String = ""

    @Option(name: .customLong("meta"), help: "Session metadata KEY=VALUE; repeatable.")
    var metadata: [String] = []

    @Flag(name: .customLong("refresh"), help: "Also issue a refresh token.")
    var withRefreshToken = false

    func validate() throws {
        _ = try metadataPairs()
    }

    func run() async throws {
        let pairs = try metadataPairs()
        let request = IssueRequest(
            subject: subject,
            audience: audience,
            scopes: scopes,
            extraClaimsJSON: claims,
            accessTTLSeconds: ttl,
            withRefreshToken: withRefreshToken,
            metadata: pairs
        )
        let response = try await connection.withClient { try await $0.issue(request, timeout: connection.callTimeout) }
        try Output.printIssued(response, json: output.json)
    }

    private func metadataPairs() throws -> [String: String] {
        var pairs: [String: String] = [:]
        for entry in metadata {
            guard let equals = entry.firstIndex(of: "=") else {
                throw ValidationError("--meta takes KEY=VALUE")
            }
            pairs[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return pairs
    }
}

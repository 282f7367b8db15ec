import ArgumentParser
import Foundation
import TokenWire

/// `tokenctl keys`: prints the published keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Show the published signing keys.",
        discussion: """
            JSON: {"keys": [{"key_id", "algorithm", "public_key_der" (base64), "not_before", "not_after", \
            "state"}], "jwks_json", "cache_max_age_seconds"}.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Flag(help: "Print the JWK Set JSON only.")
    var jwks = false

    func run() async throws {
        let response = try await connection.withClient { try await $0.getKeys(timeout: connection.callTimeout) }
        if jwks {
            print(response.jwksJSON)
            return
        }
        if output.json {
            let keys: [Output.Object] = response.keys.map { key in
                [
                    "key_id": key.keyID,
                    "algorithm": key.algorithm,
                    "public_key_der": Data(key.publicKeyDER).base64EncodedString(),
                    "not_before": key.notBefore,
                    "not_after": key.notAfter,
                    "state": Output.name(key.state),
                ]
            }
            try Output.printJSON([
                "keys": keys, "jwks_json": response.jwksJSON, "cache_max_age_seconds": response.cacheMaxAgeSeconds,
            ])
            return
        }
        for key in response.keys {
            let until = key.notAfter == 0 ? "open" : Output.time(key.notAfter)
            print("\(key.keyID)  \(key.algorithm)  \(key.state)  from \(Output.time(key.notBefore))  until \(until)")
        }
    }
}

import ArgumentParser
import TokenWire

/// `tokenctl keys`: prints the published keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Show the published signing keys.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Print the JWK Set JSON only.")
    var jwks = false

    func run() async throws {
        let response = try await connection.withClient { try await $0.getKeys(timeout: connection.callTimeout) }
        if jwks {
            print(response.jwksJSON)
            return
        }
        for key in response.keys {
            let until = key.notAfter == 0 ? "open" : Output.time(key.notAfter)
            print("\(key.keyID)  \(key.algorithm)  \(key.state)  from \(Output.time(key.notBefore))  until \(until)")
        }
    }
}

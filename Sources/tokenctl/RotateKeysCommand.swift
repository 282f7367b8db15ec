import ArgumentParser
import TokenWire

/// `tokenctl rotate-keys`: promotes the NEXT key.
struct RotateKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-keys",
        abstract: "Rotate the signing keys: NEXT becomes ACTIVE, a fresh NEXT is published (admin).",
        discussion: "JSON: {\"key_id\"} (the key that is ACTIVE now)."
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let response = try await connection.withClient { try await $0.rotateKeys(timeout: connection.callTimeout) }
        if output.json {
            try Output.printJSON(["key_id": response.keyID])
        } else {
            Output.field("active_key_id", response.keyID)
        }
    }
}

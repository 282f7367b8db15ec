import ArgumentParser
import TokenWire

/// `tokenctl rotate-keys`: promotes the NEXT key.
struct RotateKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-keys",
        abstract: "Rotate the signing keys: NEXT becomes ACTIVE, a fresh NEXT is published (admin)."
    )

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let response = try await connection.withClient { try await $0.rotateKeys(timeout: connection.callTimeout) }
        Output.field("active_key_id", response.keyID)
    }
}

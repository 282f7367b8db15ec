import ArgumentParser
import Foundation
import TokenWire

/// `tokenctl rotate-keys`: promotes the NEXT key; `--revoke-previous` revokes the old ACTIVE key.
struct RotateKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-keys",
        abstract: "Rotate the signing keys: NEXT becomes ACTIVE, a fresh NEXT is published (admin).",
        discussion: """
            With --revoke-previous (a key that leaked), the former ACTIVE key is revoked instead of \
            retired: it is no longer published and every token it signed is refused. \
            JSON: {"key_id", "seq", "revoked_key_id"} (the key that is ACTIVE now, the seq of the key ring \
            event, the revoked key or null).
            """
    )

    @Flag(help: "Revoke the former ACTIVE key instead of retiring it: every token it signed is refused.")
    var revokePrevious = false

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let request = RotateKeysRequest(revokePrevious: revokePrevious)
        let response = try await connection.withClient {
            try await $0.rotateKeys(request, timeout: connection.callTimeout)
        }
        let revoked: Any = response.revokedKeyID.isEmpty ? NSNull() : response.revokedKeyID
        if output.json {
            try Output.printJSON(["key_id": response.keyID, "seq": response.seq, "revoked_key_id": revoked])
        } else {
            Output.field("active_key_id", response.keyID)
            Output.field("seq", "\(response.seq)")
            if !response.revokedKeyID.isEmpty {
                Output.field("revoked_key_id", response.revokedKeyID)
            }
        }
    }
}

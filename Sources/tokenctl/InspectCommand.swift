import ArgumentParser
import Foundation

/// `tokenctl inspect`: shows a token's header and claims without verifying it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode a token's header and claims locally, WITHOUT verifying it.",
        discussion: """
            Exit 1 when the text is not a compact JWS with JSON header and claims. \
            JSON: {"header": {...}, "claims": {...}, "verified": false}.
            """
    )

    @OptionGroup var output: OutputOptions

    @Argument(help: "The access token.")
    var token: String

    func run() throws {
        guard token.utf8.count <= 8_192 else {
            throw TokenctlError.notAToken("the token is over 8 KiB")
        }
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            throw TokenctlError.notAToken("not a compact JWS: expected three segments")
        }
        let header = try Self.decodeSegment(segments[0])
        let claims = try Self.decodeSegment(segments[1])
        if output.json {
            try Output.printJSON(["header": header.object, "claims": claims.object, "verified": false])
            return
        }
        print("header: \(header.text)")
        print("claims: \(claims.text)")
        print("(not verified: use `tokenctl validate` for that)")
    }

    /// A segment's text and the JSON object it holds.
    private static func decodeSegment(_ segment: Substring) throws -> (text: String, object: Output.Object) {
        var base64 = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else {
            throw TokenctlError.notAToken("a segment is not base64url of UTF-8 text")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? Output.Object else {
            throw TokenctlError.notAToken("a segment is not a JSON object")
        }
        return (text, object)
    }
}

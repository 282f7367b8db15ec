import ArgumentParser
import Foundation

/// `tokenctl inspect`: shows a token's header and claims without verifying it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode a token's header and claims locally, WITHOUT verifying it."
    )

    @Argument(help: "The access token.")
    var token: String

    func run() throws {
        guard token.utf8.count <= 8_192 else {
            throw ValidationError("the token is over 8 KiB")
        }
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            throw ValidationError("not a compact JWS: expected three segments")
        }
        print("header: \(try Self.decodeSegment(segments[0]))")
        print("claims: \(try Self.decodeSegment(segments[1]))")
        print("(not verified: use `tokenctl validate` for that)")
    }

    private static func decodeSegment(_ segment: Substring) throws -> String {
        var base64 = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("a segment is not base64url of UTF-8 text")
        }
        return text
    }
}

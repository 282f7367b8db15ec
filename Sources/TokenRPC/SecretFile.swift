import Foundation

/// A secret given in a file (an API key, a password): its text without surrounding whitespace.
public enum SecretFile {
    /// The largest secret file accepted.
    public static let maximumBytes = 4_096

    /// Why a secret file was refused, in words that follow its path ("cannot read", ...).
    public struct ReadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a secret file.
    /// - Parameters:
    ///   - path: the file.
    ///   - what: what it holds, for the error ("key", "password").
    /// - Returns: the secret, and whether group or others may read the file (worth a warning).
    /// - Throws: `ReadError` when the file is missing, unreadable, larger than `maximumBytes`, empty
    ///   or not UTF-8.
    public static func read(_ path: String, holding what: String) throws(ReadError) -> (text: String, exposed: Bool) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ReadError(description: "cannot read") }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maximumBytes + 1) else {
            throw ReadError(description: "cannot read")
        }
        guard data.count <= maximumBytes else { throw ReadError(description: "larger than \(maximumBytes) bytes") }
        guard let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        else { throw ReadError(description: "holds no \(what) (empty, or not UTF-8)") }
        var info = stat()
        return (text, stat(path, &info) == 0 && info.st_mode & 0o077 != 0)
    }
}

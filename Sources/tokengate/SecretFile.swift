import ArgumentParser
import Foundation
import Logging

/// A key given in a file: its text without surrounding whitespace.
enum SecretFile {
    /// The largest key file accepted.
    static let maximumBytes = 4_096

    /// Reads a key file; warns when group or others may read it.
    /// - Throws: `ExitCode(2)` after a one-line message when the file is missing, unreadable, empty,
    ///   not UTF-8 or larger than `maximumBytes`.
    static func read(_ path: String, option: String, logger: Logger) throws -> String {
        func refuse(_ reason: String) -> ExitCode {
            FileHandle.standardError.write(Data("tokengate: \(option) \(path): \(reason)\n".utf8))
            return ExitCode(2)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw refuse("cannot open") }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maximumBytes + 1) else { throw refuse("cannot read") }
        guard data.count <= maximumBytes else { throw refuse("larger than \(maximumBytes) bytes") }
        guard let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        else { throw refuse("holds no key (empty, or not UTF-8)") }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            logger.warning("a key file can be read by group or others", metadata: ["path": "\(path)"])
        }
        return text
    }
}

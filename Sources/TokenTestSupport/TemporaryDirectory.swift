import Foundation

/// Fresh directories for tests' files.
public enum TemporaryDirectory {
    /// Creates a new, empty directory under the system's temporary directory.
    /// - Parameter prefix: the start of the directory's name.
    /// - Returns: its path.
    /// - Throws: when it cannot be created.
    public static func make(prefix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

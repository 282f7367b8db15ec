import Foundation

/// Runs the project's Python scripts (interop checks against independent implementations).
public enum PythonScript {
    /// The package's root folder, found from this file's place in it.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// What a script printed and how it exited.
    public struct Result: Sendable {
        /// Standard output and standard error, interleaved.
        public let output: String
        /// The exit status.
        public let status: Int32
    }

    /// Runs `script` (a path relative to the package root) with `$TOKEN_PYTHON` or `python3`.
    /// - Parameters:
    ///   - script: the script's path from the package root.
    ///   - arguments: its arguments.
    /// - Returns: its output and exit status.
    /// - Throws: when the interpreter cannot be started.
    public static func run(_ script: String, arguments: [String]) throws -> Result {
        let python = ProcessInfo.processInfo.environment["TOKEN_PYTHON"] ?? "/usr/bin/env"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        let scriptPath = packageRoot.appendingPathComponent(script).path
        process.arguments = (python == "/usr/bin/env" ? ["python3"] : []) + [scriptPath] + arguments
        process.currentDirectoryURL = packageRoot
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(output: String(decoding: output, as: UTF8.self), status: process.terminationStatus)
    }
}

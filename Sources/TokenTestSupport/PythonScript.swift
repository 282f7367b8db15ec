import Foundation

/// Runs the project's Python scripts (interop checks against independent implementations).
public enum PythonScript {
    /// The package's root folder, found from this file's place in it.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs `script` (a path relative to the package root) with `$TOKEN_PYTHON` or `python3`.
    /// - Parameters:
    ///   - script: the script's path from the package root.
    ///   - arguments: its arguments.
    /// - Returns: its output and exit status.
    /// - Throws: when the interpreter cannot be started.
    public static func run(_ script: String, arguments: [String]) throws -> CapturedRun {
        let python = ProcessInfo.processInfo.environment["TOKEN_PYTHON"] ?? "/usr/bin/env"
        let scriptPath = packageRoot.appendingPathComponent(script).path
        return try CapturedRun.run(
            python, (python == "/usr/bin/env" ? ["python3"] : []) + [scriptPath] + arguments, in: packageRoot)
    }
}

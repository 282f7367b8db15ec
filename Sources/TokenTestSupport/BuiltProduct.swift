import Foundation

/// The executables of this package, as a test finds them.
public enum BuiltProduct {
    /// The named product next to the running test binary (`swift build --build-tests` puts every
    /// product there), or the path in `$<NAME>_BINARY` (e.g. `TOKEND_BINARY`) when set.
    public static func path(_ name: String) -> String {
        if let path = ProcessInfo.processInfo.environment[name.uppercased() + "_BINARY"] {
            return path
        }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent(name).path
    }
}

/// A failure tokenctl detects itself (not the service), with the exit status it ends with.
///
/// Opaque so that cases can be added later; build one with the static factories.
struct TokenctlError: Error, CustomStringConvertible {
    private enum Base {
        case notAToken(reason: String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The text given as a token is not a compact JWS (exit status 1, as for an invalid token).
    /// - Parameter reason: what is wrong with it.
    static func notAToken(_ reason: String) -> Self {
        Self(.notAToken(reason: reason))
    }

    /// The exit status for this failure.
    var exitStatus: Int32 {
        switch base {
        case .notAToken: ExitStatus.invalid
        }
    }

    var description: String {
        switch base {
        case .notAToken(let reason): "MALFORMED: \(reason)"
        }
    }
}

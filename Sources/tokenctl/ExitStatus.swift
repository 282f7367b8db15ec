/// The exit statuses of tokenctl, the same for every command.
enum ExitStatus {
    /// The command succeeded (for `validate`: the token is valid).
    static let success: Int32 = 0
    /// The token is invalid (or, for `health`, the service is not serving).
    static let invalid: Int32 = 1
    /// The command line is wrong: an unknown option, a missing argument, a bad --server, an unreadable key file.
    static let usage: Int32 = 2
    /// The service cannot be reached or answered an error.
    static let service: Int32 = 3
}

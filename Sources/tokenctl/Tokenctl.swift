import ArgumentParser
import Foundation

/// `tokenctl`: the admin CLI of the token service.
///
/// The connection and output options are declared here as well as on each command, so that they may be
/// given before the command's name (`tokenctl --server H:P validate T`) or after it.
@main
struct Tokenctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenctl",
        abstract: "Administers a tokend token service.",
        discussion: """
            Options --server, --key-file, --timeout, the --tls options and --json may come before or after \
            the command's name.

            With --json a command prints one JSON object (watch: one per line), with the proto's field \
            names in snake_case and times as Unix seconds. Errors go to standard error as one line \
            `tokenctl: CODE: message` in either mode, never to standard output.

            Exit status: 0 success (a token is valid), 1 the token is invalid, 2 usage error \
            (unknown option, bad --server, unreadable key file), 3 the service cannot be reached or \
            answered an error (its status code is in the message).
            """,
        subcommands: [
            IssueCommand.self, InspectCommand.self, ValidateCommand.self, RefreshCommand.self,
            RevokeCommand.self, LogoutCommand.self, SessionsCommand.self, KeysCommand.self,
            RotateKeysCommand.self, WatchCommand.self, HealthCommand.self,
        ]
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    /// Parses the command line, runs the command and exits with the status of `ExitStatus`.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(reporting: error)
        }
        Foundation.exit(ExitStatus.success)
    }
}

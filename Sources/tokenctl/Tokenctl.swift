import ArgumentParser

/// `tokenctl`: the admin CLI of the token service.
@main
struct Tokenctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenctl",
        abstract: "Administers a tokend token service.",
        subcommands: [
            IssueCommand.self, InspectCommand.self, ValidateCommand.self, RefreshCommand.self,
            RevokeCommand.self, LogoutCommand.self, SessionsCommand.self, KeysCommand.self,
            RotateKeysCommand.self, WatchCommand.self, HealthCommand.self,
        ]
    )
}

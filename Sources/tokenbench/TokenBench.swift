import ArgumentParser

/// Benchmarks of the token service's parts.
@main
struct TokenBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenbench",
        abstract: "Benchmarks of the token service.",
        subcommands: [
            AllCommand.self, EngineCommand.self, ServiceCommand.self, MemoryCommand.self, FanoutCommand.self,
            ServeCommand.self,
        ]
    )
}

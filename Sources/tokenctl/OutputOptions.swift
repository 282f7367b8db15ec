import ArgumentParser

/// How a command prints its answer.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object (watch: one per line) instead of text.")
    var json = false
}

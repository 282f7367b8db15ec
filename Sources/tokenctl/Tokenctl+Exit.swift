import ArgumentParser
import Foundation
import TokenRPC

extension Tokenctl {
    /// Reports `error` and exits with its status: help on standard output with 0, usage errors with 2,
    /// the service's errors as one line `tokenctl: CODE: message` with 3.
    /// - Parameter error: what ended the command.
    static func exit(reporting error: any Error) -> Never {
        if let exitCode = error as? ExitCode {
            Foundation.exit(exitCode.rawValue)
        }
        if let failure = error as? RPCError {
            failAndExit("\(failure.code): \(readableMessage(failure))", status: ExitStatus.service)
        }
        if let failure = error as? TokenctlError {
            failAndExit(failure.description, status: failure.exitStatus)
        }
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        if code == .success {
            if !message.isEmpty {
                print(message)
            }
            Foundation.exit(ExitStatus.success)
        }
        if code == .validationFailure {
            standardError(message)
            Foundation.exit(ExitStatus.usage)
        }
        failAndExit("\(RPCError.Code.unknown): \(error)", status: ExitStatus.service)
    }

    /// The error's message, with a failed connection told as `cannot connect to HOST:PORT: reason` rather
    /// than the transport's own description of its attempts.
    private static func readableMessage(_ error: RPCError) -> String {
        let prefix = "cannot connect: "
        guard error.code == .unavailable, error.message.hasPrefix(prefix),
            let errnoStart = error.message.range(of: "(errno: ", options: .backwards),
            let number = Int32(error.message[errnoStart.upperBound...].prefix(while: \.isNumber)),
            let endpoint = error.message.dropFirst(prefix.count).split(separator: " ").first,
            endpoint.hasSuffix(":")
        else {
            return error.message
        }
        return "cannot connect to \(endpoint.dropLast()): \(String(cString: strerror(number)))"
    }

    /// Prints `message` as one line prefixed with `tokenctl:` on standard error and exits with `status`.
    private static func failAndExit(_ message: String, status: Int32) -> Never {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        standardError("tokenctl: \(line)")
        Foundation.exit(status)
    }

    private static func standardError(_ text: String) {
        // Answers printed before the error come first.
        fflush(nil)
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

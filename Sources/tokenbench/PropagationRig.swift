import Foundation
import Logging
import TokenClient
import TokenRPC
import TokenServer

/// What the propagation scenarios time against: a service of its own (embedded store in a
/// directory of its own, so that the validators' start does not load the snapshot of what the other
/// scenarios made) and `watchers` validators following it, every one ready.
struct PropagationRig {
    let client: TokenServiceClient
    let validators: [TokenValidator]
    private let bench: BenchService
    private let tasks: [Task<Void, any Error>]
    private let directory: String

    /// Starts the service and the validators (configured as `validator`, on the new service).
    static func start(
        directory: String,
        watchers: Int,
        validator: TokenValidatorConfiguration
    ) async throws -> PropagationRig {
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let bench = try await BenchService.start(
            configuration: TokenServiceConfiguration(issuer: "https://bench.example"), directory: directory,
            logger: logger)
        let endpoint = RPCEndpoint(host: "127.0.0.1", port: bench.port)
        var configuration = validator
        configuration.endpoints = [endpoint]
        let validators = (0..<watchers).map { _ in TokenValidator(configuration: configuration) }
        let rig = PropagationRig(
            client: TokenServiceClient(endpoints: [endpoint], credential: "bench"), validators: validators,
            bench: bench, tasks: validators.map { validator in Task { try await validator.run() } },
            directory: directory)
        do {
            for validator in validators {
                try await validator.waitUntil(\.isReady)
            }
        } catch {
            await rig.stop()
            throw error
        }
        return rig
    }

    /// Waits until every validator applied the event with this `seq`.
    func waitUntilEveryValidatorApplied(seq: UInt64) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for validator in validators {
                group.addTask { try await validator.waitUntilApplied(seq: seq) }
            }
            try await group.waitForAll()
        }
    }

    /// Stops the validators, the client and the service, and removes the store.
    func stop() async {
        tasks.forEach { $0.cancel() }
        for task in tasks { _ = await task.result }
        await client.close()
        try? await bench.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

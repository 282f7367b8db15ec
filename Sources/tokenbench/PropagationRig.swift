import Foundation
import Logging
import TokenClient
import TokenRPC
import TokenServer

/// What the propagation scenarios time against: a service of its own (embedded store in a
/// directory of its own, so that the validators' start does not load the snapshot of what the other
/// scenarios made) and `watchers` validators following it, every one ready. On Redis, two instances
/// share the store: the client calls instance A, the validators watch instance B.
struct PropagationRig {
    /// A client of the instance that revokes (A).
    let client: TokenServiceClient
    let validators: [TokenValidator]
    private let services: [BenchService]
    private let tasks: [Task<Void, any Error>]
    private let directory: String

    /// Starts the service (or, with `redisURL`, two instances on that Redis) and the validators
    /// (configured as `validator`, on the watched instance).
    static func start(
        directory: String,
        watchers: Int,
        validator: TokenValidatorConfiguration,
        redisURL: String? = nil
    ) async throws -> PropagationRig {
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let configuration = TokenServiceConfiguration(issuer: "https://bench.example")
        var services = [
            try await BenchService.start(
                configuration: configuration, directory: directory, redisURL: redisURL, logger: logger)
        ]
        if redisURL != nil {
            do {
                services.append(
                    try await BenchService.start(
                        configuration: configuration, directory: directory, redisURL: redisURL, logger: logger))
            } catch {
                services[0].cancel()
                throw error
            }
        }
        let revoking = RPCEndpoint(host: "127.0.0.1", port: services[0].port)
        var validatorConfiguration = validator
        validatorConfiguration.endpoints = [RPCEndpoint(host: "127.0.0.1", port: services[services.count - 1].port)]
        let validators = (0..<watchers).map { _ in TokenValidator(configuration: validatorConfiguration) }
        let rig = PropagationRig(
            client: TokenServiceClient(endpoints: [revoking], credential: "bench"), validators: validators,
            services: services, tasks: validators.map { validator in Task { try await validator.run() } },
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

    /// Stops the validators, the client and the services, and removes the store.
    func stop() async {
        tasks.forEach { $0.cancel() }
        for task in tasks { _ = await task.result }
        await client.close()
        for service in services.reversed() {
            try? await service.stop()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

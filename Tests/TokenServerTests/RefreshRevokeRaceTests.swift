import Foundation
import Testing
import TokenClient
import TokenRPC
import TokenTestSupport
import TokenWire

/// A refresh racing a revocation of its session or subject: once Revoke has answered, no access
/// token the refresh minted is valid, on any instance, and its refresh token is dead.
@Suite("Refresh racing Revoke")
struct RefreshRevokeRaceTests {
    static let races = 1_000
    /// Races run at once.
    static let concurrentRaces = 50

    enum Target: String, Sendable, CustomTestStringConvertible {
        case session
        case subject

        var testDescription: String { rawValue }

        func request(for login: IssueResponse, subject: String) -> RevokeRequest {
            switch self {
            case .session: RevokeRequest(target: .sessionID(login.sessionID))
            case .subject: RevokeRequest(target: .subject(subject))
            }
        }
    }

    /// What one race left behind.
    struct Race: Sendable {
        var name: String
        var login: IssueResponse
        /// The racing refresh's answer; nil when it was refused.
        var refreshed: IssueResponse?
        var revoked: RevokeResponse
    }

    /// Where a race's calls go.
    struct Sides: Sendable {
        var issuer: TokenServiceClient
        var refresher: TokenServiceClient
        var revoker: TokenServiceClient
        /// The longest the revocation starts after the refresh, in logins' time.
        var revocationSpread = 0.0
    }

    /// Logs in, then refreshes and revokes at once.
    private static func race(_ name: String, target: Target, on sides: Sides) async throws -> Race {
        let started = ContinuousClock.now
        let login = try await sides.issuer.login(name)
        // A refresh takes several round trips to the store, a revocation one or two: the revocation
        // starts after a random spread of up to `revocationSpread` logins' time (measured, so it
        // follows the machine's load), so that either may reach the store first. It is no
        // synchronisation: the assertions hold whichever does.
        let spread = (ContinuousClock.now - started) * sides.revocationSpread
        async let refreshed = refreshUnlessRefused(login.refreshToken, on: sides.refresher)
        async let revoked = {
            try await Task.sleep(for: spread * Double.random(in: 0...1))
            return try await sides.revoker.revoke(target.request(for: login, subject: name))
        }()
        return Race(name: name, login: login, refreshed: try await refreshed, revoked: try await revoked)
    }

    /// The refresh's answer, or nil when it was refused as a refresh of a revoked session.
    private static func refreshUnlessRefused(_ token: String, on client: TokenServiceClient) async throws
        -> IssueResponse?
    {
        do {
            return try await client.refresh(RefreshRequest(refreshToken: token))
        } catch let error as RPCError where error.code == .unauthenticated {
            return nil
        }
    }

    /// What is wrong with a race's tokens as `client` sees them: every access token is refused as
    /// revoked and the successor refresh token is refused.
    private static func problems(in race: Race, on client: TokenServiceClient, instance: String) async throws
        -> [String]
    {
        var problems: [String] = []
        var minted = [("login", race.login)]
        if let refreshed = race.refreshed {
            minted.append(("refresh", refreshed))
        }
        for (source, response) in minted {
            let answer = try await client.validate(ValidateRequest(token: response.accessToken))
            if answer.valid || answer.reason != .revoked {
                problems.append(
                    "\(race.name): the \(source)'s token (iat \(answer.claims?.issuedAt ?? 0)) is valid=\(answer.valid)"
                        + " reason=\(answer.reason) on \(instance) after Revoke answered seq \(race.revoked.seq)")
            }
        }
        if let successor = race.refreshed?.refreshToken {
            do {
                _ = try await client.refresh(RefreshRequest(refreshToken: successor))
                problems.append("\(race.name): the refreshed session still refreshes on \(instance)")
            } catch let error as RPCError where error.code == .unauthenticated {}
        }
        return problems
    }

    /// Runs `races` races, `concurrentRaces` at a time; `during` runs beside each group of races
    /// until it is cancelled at the group's end.
    private static func run(
        target: Target,
        sides: @escaping @Sendable (Int) -> Sides,
        during: @escaping @Sendable () async -> Void = {}
    ) async throws -> [Race] {
        var all: [Race] = []
        let prefix = "race-\(UUID().uuidString.prefix(8))"
        for group in 0..<(races / concurrentRaces) {
            let beside = Task { await during() }
            defer { beside.cancel() }
            let finished = try await withThrowingTaskGroup(of: Race.self) { tasks in
                for index in 0..<concurrentRaces {
                    let number = group * concurrentRaces + index
                    tasks.addTask {
                        try await Self.race("\(prefix)-\(number)", target: target, on: sides(number))
                    }
                }
                return try await tasks.reduce(into: [Race]()) { $0.append($1) }
            }
            beside.cancel()
            await beside.value
            all += finished
        }
        return all
    }

    @Test(arguments: [Target.session, .subject])
    func onTheEmbeddedStore(target: Target) async throws {
        // Tokens live a day here: the clock moves on by thousands of seconds during the test.
        try await TokenTestServer.with(configure: { $0.accessTTL = 86_400 }) { server in
            let sides = Sides(
                issuer: server.client("issuer"), refresher: server.client("gateway"), revoker: server.client("admin"),
                revocationSpread: 1)
            // The clock moves on by a second about every millisecond: a refresh may read a later
            // second than the revocation racing it, and still reach the writer first.
            let races = try await Self.run(target: target, sides: { _ in sides }) {
                while (try? await Task.sleep(for: .milliseconds(1))) != nil {
                    server.clock.advance(by: 1)
                }
            }
            var problems: [String] = []
            for race in races {
                problems += try await Self.problems(in: race, on: server.client("gateway"), instance: "the server")
            }
            let refreshed = races.filter { $0.refreshed != nil }.count
            print(
                "\(target) revocations racing refreshes, embedded store: \(refreshed) of \(races.count) refreshes won")
            #expect(problems.isEmpty, "\(problems.count) problems: \(problems.prefix(5))")
        }
    }

    /// On Redis, with B's clock 5 s ahead of A's: half the races refresh on B and revoke on A, half
    /// the other way round. Validators compare a token's `iat` with the subject's `revoked_at`, so a
    /// revocation timed by the slower clock must still cover what the faster one minted.
    @Test(.enabled(if: RedisTestServer.isRequired), arguments: [Target.session, .subject])
    func onRedisWithSkewedClocks(target: Target) async throws {
        try await RedisInstancePair.with(skew: 5) { pair in
            let races = try await Self.run(target: target) { number in
                let (first, second) = number % 2 == 0 ? (pair.a, pair.b) : (pair.b, pair.a)
                return Sides(
                    issuer: first.client("issuer"), refresher: second.client("gateway"), revoker: first.client("admin"),
                    revocationSpread: 3)
            }
            // B has every revocation once it refuses a token revoked after all of them.
            let marker = try await pair.a.client("issuer").login("marker")
            _ = try await pair.a.client("admin").revoke(RevokeRequest(target: .tokenID(marker.tokenID)))
            let caughtUp = try await eventually(within: .seconds(10)) {
                let answer = try? await pair.b.client("validator").validate(ValidateRequest(token: marker.accessToken))
                return answer?.reason == .revoked
            }
            #expect(caughtUp, "instance B did not apply the revocations within 10 s")
            var problems: [String] = []
            for race in races {
                problems += try await Self.problems(in: race, on: pair.a.client("gateway"), instance: "A")
                problems += try await Self.problems(in: race, on: pair.b.client("gateway"), instance: "B")
            }
            let refreshed = races.filter { $0.refreshed != nil }.count
            print(
                "\(target) revocations racing refreshes, Redis, 5 s skew: \(refreshed) of \(races.count) refreshes won")
            #expect(problems.isEmpty, "\(problems.count) problems: \(problems.prefix(5))")
        }
    }
}

import Testing
import TokenCore

/// One key shared by many tasks: the context pools hand each operation its own context.
@Suite struct ConcurrencyTests {
    @Test(arguments: TokenAlgorithm.allCases)
    func concurrentMintingAndVerifyingAgree(algorithm: TokenAlgorithm) async throws {
        let key = try SigningKey.generate(algorithm)
        let keys = KeySet(keys: ["k": key.publicKey])
        let verifier = TokenVerifier(issuer: TokenFixtures.issuer)
        let tasks = 8
        let perTask = 40
        let outcomes = try await withThrowingTaskGroup(of: [Bool].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var outcomes: [Bool] = []
                    for index in 0..<perTask {
                        let claims = try TokenFixtures.claims(subject: "user-\(task)-\(index)")
                        let token = try TokenMinter().mint(claims: claims, key: key, keyID: "k")
                        let result = verifier.verify(token, keys: keys, audience: "api", now: TokenFixtures.now)
                        outcomes.append(result.isValid && result.claims?.subject == claims.subject)
                        // A damaged copy must fail even while other tasks share the same contexts.
                        let damaged = String(token.dropLast(3)) + (token.hasSuffix("AAA") ? "BBB" : "AAA")
                        outcomes.append(
                            !verifier.verify(damaged, keys: keys, audience: nil, now: TokenFixtures.now).isValid)
                    }
                    return outcomes
                }
            }
            var all: [Bool] = []
            for try await outcomes in group { all += outcomes }
            return all
        }
        #expect(outcomes.count == tasks * perTask * 2)
        #expect(outcomes.allSatisfy { $0 })
    }
}

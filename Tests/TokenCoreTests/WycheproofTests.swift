import Testing
import TokenCore

/// Project Wycheproof's Ed25519 and ECDSA P-256 (P1363 form) verification cases, run through the
/// engine's own `VerificationKey.verify`.
@Suite struct WycheproofTests {
    struct Outcome {
        var checked = 0
        var failures: [String] = []
    }

    func run(_ file: String, algorithm: TokenAlgorithm) throws -> Outcome {
        let json = try TokenFixtures.vectorJSON("wycheproof/\(file)")
        let groups = try #require(json["testGroups"] as? [[String: Any]])
        var outcome = Outcome()
        for group in groups {
            let der = try TokenFixtures.hex(try #require(group["publicKeyDer"] as? String))
            let key = try VerificationKey(spkiDER: der)
            #expect(key.algorithm == algorithm)
            for test in try #require(group["tests"] as? [[String: Any]]) {
                let id = test["tcId"] as? Int ?? -1
                let result = try #require(test["result"] as? String)
                let message = try TokenFixtures.hex(try #require(test["msg"] as? String))
                let signature = try TokenFixtures.hex(try #require(test["sig"] as? String))
                let verified = key.verify(signature: signature, message: message)
                outcome.checked += 1
                switch result {
                case "valid" where !verified, "invalid" where verified:
                    outcome.failures.append("tcId \(id): expected \(result)")
                default:
                    break  // agrees, or "acceptable" (either way is allowed)
                }
            }
        }
        return outcome
    }

    @Test func ed25519() throws {
        let outcome = try run("ed25519_test.json", algorithm: .edDSA)
        #expect(outcome.checked == 151)
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
    }

    @Test func ecdsaP256P1363() throws {
        let outcome = try run("ecdsa_secp256r1_sha256_p1363_test.json", algorithm: .es256)
        #expect(outcome.checked == 262)
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
    }
}

import Foundation
import Testing

/// Every `tokenctl` command against a real `tokend`, in text and with `--json`.
@Suite(.serialized)
final class TokenctlCommandTests {
    let server: TokenctlTestServer

    init() throws {
        server = try TokenctlTestServer()
    }

    /// Issues a token for `subject` as the issuer, with a refresh token and session metadata.
    private func issue(_ subject: String) throws -> [String: Any] {
        let run = try server.tokenctl(
            as: "issuer",
            ["issue", subject, "--audience", "api", "--scope", "read", "--refresh", "--meta", "agent=test", "--json"]
        )
        #expect(run.status == 0, "\(run.standardError)")
        return try run.jsonObject()
    }

    /// Revokes the token id `tokenID` as the gateway.
    /// - Returns: the revocation's seq.
    private func revoke(tokenID: String) throws -> Int {
        let run = try server.tokenctl(as: "gateway", ["revoke", "--token-id", tokenID, "--json"])
        #expect(run.status == 0, "\(run.standardError)")
        let seq = try #require(try run.jsonObject()["seq"] as? Int)
        return seq
    }

    /// The revocation log's epoch, from the first line of a snapshot (the store must hold a revocation).
    private func epoch() throws -> Int {
        let run = try server.tokenctl(as: "gateway", ["watch", "--count", "1", "--json"])
        #expect(run.status == 0, "\(run.standardError)")
        return try #require(try run.jsonObject()["epoch"] as? Int)
    }

    @Test func healthInTextAndJSON() throws {
        let text = try server.tokenctl(as: "admin", ["health"])
        #expect(text.status == 0)
        #expect(text.lines.contains("serving: true"))
        #expect(text.lines.contains("store: embedded"))

        let json = try server.tokenctl(as: "admin", ["health", "--json"])
        #expect(json.status == 0)
        let object = try json.jsonObject()
        #expect(object["serving"] as? Bool == true)
        #expect(object["store"] as? String == "embedded")
        #expect(object["version"] is String)
    }

    @Test func issueInTextAndJSON() throws {
        let text = try server.tokenctl(as: "issuer", ["issue", "alice", "--refresh"])
        #expect(text.status == 0)
        #expect(text.lines.contains { $0.hasPrefix("access_token: ey") })
        #expect(text.lines.contains { $0.hasPrefix("refresh_token: ") })
        // People read ISO 8601 times.
        #expect(text.lines.contains { $0.hasPrefix("expires_at: 20") && $0.hasSuffix("Z") })

        let object = try issue("alice")
        #expect((object["access_token"] as? String)?.split(separator: ".").count == 3)
        #expect((object["token_id"] as? String)?.count == 22)
        #expect((object["session_id"] as? String)?.isEmpty == false)
        #expect((object["key_id"] as? String)?.isEmpty == false)
        #expect((object["refresh_token"] as? String)?.isEmpty == false)
        // JSON carries Unix seconds.
        let expiresAt = try #require(object["expires_at"] as? Int)
        #expect(expiresAt > Int(Date().timeIntervalSince1970))
        #expect((object["refresh_expires_at"] as? Int ?? 0) > expiresAt)
    }

    @Test func validateAValidToken() throws {
        let token = try #require(try issue("alice")["access_token"] as? String)

        let text = try server.tokenctl(as: "gateway", ["validate", token, "--audience", "api"])
        #expect(text.status == 0)
        #expect(text.lines.contains("valid: true"))
        #expect(text.lines.contains("subject: alice"))

        let json = try server.tokenctl(as: "gateway", ["validate", token, "--audience", "api", "--json"])
        #expect(json.status == 0)
        let object = try json.jsonObject()
        #expect(object["valid"] as? Bool == true)
        #expect(object["reason"] as? String == "REASON_UNSPECIFIED")
        let claims = try #require(object["claims"] as? [String: Any])
        #expect(claims["subject"] as? String == "alice")
        #expect(claims["issuer"] as? String == "https://tokens.test")
        #expect(claims["audience"] as? [String] == ["api"])
        #expect(claims["scopes"] as? [String] == ["read"])
        #expect(claims["expires_at"] is Int)
    }

    @Test func validateARevokedTokenExitsOne() throws {
        let issued = try issue("bob")
        let token = try #require(issued["access_token"] as? String)
        _ = try revoke(tokenID: try #require(issued["token_id"] as? String))

        let text = try server.tokenctl(as: "gateway", ["validate", token])
        #expect(text.status == 1)
        #expect(text.lines.contains("valid: false"))
        #expect(text.standardError.isEmpty)

        let json = try server.tokenctl(as: "gateway", ["validate", token, "--json"])
        #expect(json.status == 1)
        let object = try json.jsonObject()
        #expect(object["valid"] as? Bool == false)
        #expect(object["reason"] as? String == "REVOKED")
        #expect((object["claims"] as? [String: Any])?["subject"] as? String == "bob")
    }

    @Test func validateLocallyThroughTheKeysAndTheMirror() throws {
        let issued = try issue("carol")
        let token = try #require(issued["access_token"] as? String)
        let local = ["validate", token, "--local", "--issuer", "https://tokens.test"]

        let text = try server.tokenctl(as: "gateway", local)
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.lines.contains("valid: true"))
        #expect(text.lines.contains("verified_by: local"))
        #expect(text.lines.contains("subject: carol"))

        _ = try revoke(tokenID: try #require(issued["token_id"] as? String))
        let json = try server.tokenctl(as: "gateway", local + ["--json"])
        #expect(json.status == 1)
        let object = try json.jsonObject()
        #expect(object["valid"] as? Bool == false)
        #expect(object["reason"] as? String == "REVOKED")
        #expect(object["verified_by"] as? String == "local")

        // Another issuer: the local check refuses the token as the service would.
        let wrongIssuer = try server.tokenctl(as: "gateway", ["validate", token, "--local", "--issuer", "https://other"])
        #expect(wrongIssuer.status == 1)
        #expect(wrongIssuer.lines.contains("reason: wrong_issuer"))
    }

    @Test func validateGarbageExitsOne() throws {
        let text = try server.tokenctl(as: "gateway", ["validate", "not-a-token"])
        #expect(text.status == 1)
        #expect(text.lines.contains("valid: false"))

        let json = try server.tokenctl(as: "gateway", ["validate", "not-a-token", "--json"])
        #expect(json.status == 1)
        let object = try json.jsonObject()
        #expect(object["valid"] as? Bool == false)
        #expect(object["reason"] as? String == "MALFORMED")
        #expect(object["claims"] is NSNull)
    }

    @Test func inspectDecodesWithoutTheService() throws {
        let token = try #require(try issue("carol")["access_token"] as? String)

        let text = try CommandLineRun.tokenctl(["inspect", token], in: server.directory)
        #expect(text.status == 0)
        #expect(text.lines.contains { $0.hasPrefix("header: {") && $0.contains("\"kid\"") })
        #expect(text.lines.contains { $0.hasPrefix("claims: {") && $0.contains("\"carol\"") })

        let json = try CommandLineRun.tokenctl(["inspect", token, "--json"], in: server.directory)
        #expect(json.status == 0)
        let object = try json.jsonObject()
        #expect(object["verified"] as? Bool == false)
        #expect((object["header"] as? [String: Any])?["typ"] as? String == "at+jwt")
        #expect((object["claims"] as? [String: Any])?["sub"] as? String == "carol")

        let garbage = try CommandLineRun.tokenctl(["inspect", "a.b", "--json"], in: server.directory)
        #expect(garbage.status == 1)
        #expect(garbage.standardOutput.isEmpty)
        #expect(garbage.standardError.hasPrefix("tokenctl: MALFORMED: "))
    }

    @Test func refreshInTextAndJSON() throws {
        let first = try #require(try issue("dave")["refresh_token"] as? String)

        // Refresh tokens may start with a dash.
        let json = try server.tokenctl(as: "gateway", ["refresh", "--json", "--", first])
        #expect(json.status == 0, "\(json.standardError)")
        let object = try json.jsonObject()
        let second = try #require(object["refresh_token"] as? String)
        #expect(second != first)
        #expect((object["access_token"] as? String)?.isEmpty == false)

        let text = try server.tokenctl(as: "gateway", ["refresh", "--", second])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.lines.contains { $0.hasPrefix("access_token: ey") })
        #expect(text.lines.contains { $0.hasPrefix("refresh_token: ") && !$0.hasSuffix(second) })
    }

    @Test func revokeInTextAndJSON() throws {
        let issued = try issue("erin")
        let session = try #require(issued["session_id"] as? String)

        let json = try server.tokenctl(as: "gateway", ["revoke", "--session", session, "--reason", "test", "--json"])
        #expect(json.status == 0)
        let object = try json.jsonObject()
        #expect((object["seq"] as? Int ?? 0) > 0)
        #expect(object["sessions_revoked"] as? Int == 1)

        let token = try #require(try issue("erin")["access_token"] as? String)
        let text = try server.tokenctl(as: "gateway", ["revoke", "--token", token])
        #expect(text.status == 0)
        #expect(text.lines.contains { $0.hasPrefix("seq: ") })
        #expect(text.lines.contains("sessions_revoked: 0"))
    }

    @Test func logoutInTextAndJSON() throws {
        _ = try issue("frank")
        _ = try issue("frank")
        let json = try server.tokenctl(as: "admin", ["logout", "frank", "--json"])
        #expect(json.status == 0)
        #expect(try json.jsonObject()["sessions_revoked"] as? Int == 2)

        _ = try issue("grace")
        let text = try server.tokenctl(as: "admin", ["logout", "grace"])
        #expect(text.status == 0)
        #expect(text.lines.contains("sessions_revoked: 1"))
    }

    @Test func sessionsInTextAndJSON() throws {
        let session = try #require(try issue("heidi")["session_id"] as? String)

        let json = try server.tokenctl(as: "admin", ["sessions", "heidi", "--json"])
        #expect(json.status == 0)
        let sessions = try #require(try json.jsonObject()["sessions"] as? [[String: Any]])
        #expect(sessions.count == 1)
        #expect(sessions.first?["session_id"] as? String == session)
        #expect(sessions.first?["subject"] as? String == "heidi")
        #expect(sessions.first?["metadata"] as? [String: String] == ["agent": "test"])
        #expect(sessions.first?["created_at"] is Int)

        let text = try server.tokenctl(as: "admin", ["sessions", "heidi"])
        #expect(text.status == 0)
        #expect(text.lines.count == 1)
        #expect(text.lines.first?.hasPrefix(session) == true)
        #expect(text.lines.first?.hasSuffix("agent=test") == true)

        let none = try server.tokenctl(as: "admin", ["sessions", "nobody-at-all", "--json"])
        #expect((try none.jsonObject()["sessions"] as? [Any])?.isEmpty == true)
    }

    @Test func keysAndRotateKeysInTextAndJSON() throws {
        let json = try server.tokenctl(as: "admin", ["keys", "--json"])
        #expect(json.status == 0)
        let object = try json.jsonObject()
        let keys = try #require(object["keys"] as? [[String: Any]])
        #expect(keys.compactMap { $0["state"] as? String }.sorted() == ["ACTIVE", "NEXT"])
        #expect(keys.allSatisfy { ($0["public_key_der"] as? String).flatMap { Data(base64Encoded: $0) } != nil })
        #expect(keys.allSatisfy { $0["not_before"] is Int && $0["algorithm"] as? String == "EdDSA" })
        let jwks = try #require((object["jwks_json"] as? String).map { Data($0.utf8) })
        #expect(((try JSONSerialization.jsonObject(with: jwks) as? [String: Any])?["keys"] as? [Any])?.count == 2)
        let next = try #require(keys.first { $0["state"] as? String == "NEXT" }?["key_id"] as? String)

        let text = try server.tokenctl(as: "admin", ["keys"])
        #expect(text.status == 0)
        #expect(text.lines.count == 2)
        #expect(text.lines.contains { $0.hasPrefix(next) })

        let rotated = try server.tokenctl(as: "admin", ["rotate-keys", "--json"])
        #expect(rotated.status == 0)
        #expect(try rotated.jsonObject()["key_id"] as? String == next)

        let again = try server.tokenctl(as: "admin", ["rotate-keys"])
        #expect(again.status == 0)
        #expect(again.lines.count == 2)
        #expect(again.lines.first?.hasPrefix("active_key_id: ") == true)
        #expect(again.lines.first != "active_key_id: \(next)")
        #expect(again.lines.last?.hasPrefix("seq: ") == true)
    }

    @Test func rotateKeysRevokingThePreviousKeyRefusesItsTokens() throws {
        let issued = try issue("olga")
        let token = try #require(issued["access_token"] as? String)
        let leaked = try #require(issued["key_id"] as? String)

        let rotated = try server.tokenctl(as: "admin", ["rotate-keys", "--revoke-previous", "--json"])
        #expect(rotated.status == 0, "\(rotated.standardError)")
        let answer = try rotated.jsonObject()
        #expect(answer["revoked_key_id"] as? String == leaked)
        let seq = try #require(answer["seq"] as? Int)

        let validate = try server.tokenctl(as: "gateway", ["validate", token, "--json"])
        #expect(validate.status == 1)
        #expect(try validate.jsonObject()["reason"] as? String == "REVOKED")
        let keys = try server.tokenctl(as: "admin", ["keys", "--json"])
        #expect(keys.status == 0)
        #expect(!keys.standardOutput.contains(leaked))

        // The stream carries the key's revocation, then the ring without it.
        let epoch = try epoch()
        let watch = try server.tokenctl(
            as: "gateway", ["watch", "--since", "\(seq - 2)", "--epoch", "\(epoch)", "--count", "2", "--json"])
        #expect(watch.status == 0, "\(watch.standardError)")
        let lines = try watch.jsonLines()
        #expect(lines.map { $0["kind"] as? String } == ["KEY", "KEY_RING"])
        #expect(lines.map { $0["seq"] as? Int } == [seq - 1, seq])
        #expect(lines.first?["value"] as? String == leaked)
        let published = (lines.last?["keys"] as? [[String: Any]] ?? []).compactMap { $0["key_id"] as? String }
        #expect(published.count == 2)
        #expect(!published.contains(leaked))
    }

    @Test func watchPrintsTheSnapshot() throws {
        let tokenID = try #require(try issue("ivan")["token_id"] as? String)
        let seq = try revoke(tokenID: tokenID)

        let json = try server.tokenctl(as: "gateway", ["watch", "--count", "2", "--json"])
        #expect(json.status == 0, "\(json.standardError)")
        let lines = try json.jsonLines()
        #expect(lines.count == 2)
        // First the key ring's event: the published keys by state.
        let ring = try #require(lines.first)
        #expect(ring["type"] as? String == "snapshot")
        #expect(ring["kind"] as? String == "KEY_RING")
        let states = (ring["keys"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
        #expect(states == ["ACTIVE", "NEXT"])
        let line = try #require(lines.last)
        #expect(line["type"] as? String == "snapshot")
        #expect(line["keys"] is NSNull)
        let epoch = try #require(line["epoch"] as? Int)
        #expect(epoch > 0)
        #expect(line["seq"] as? Int == seq)
        #expect(line["kind"] as? String == "TOKEN")
        #expect(line["value"] as? String == tokenID)
        #expect(line["head_seq"] as? Int == seq)
        #expect(line["applied_seq"] as? Int == seq)
        #expect(line["lag_events"] as? Int == 0)
        #expect((line["since_last_batch_ms"] as? Int ?? -1) >= 0)
        #expect(line["stale"] is Bool)
        #expect(line["revoked_at"] is Int && line["expires_at"] is Int)

        let text = try server.tokenctl(as: "gateway", ["watch", "--count", "2"])
        #expect(text.status == 0)
        #expect(text.lines.count == 2)
        #expect(text.lines.first?.hasPrefix("snapshot epoch=\(epoch) seq=1 kind=keyRing keys=ACTIVE:") == true)
        #expect(text.lines.last?.hasPrefix("snapshot epoch=\(epoch) seq=\(seq) kind=token value=\(tokenID)") == true)
        #expect(text.lines.last?.contains("head_seq=\(seq) applied_seq=\(seq) lag=0") == true)
    }

    @Test func watchShowsTheLagWithinABatch() throws {
        var seqs: [Int] = []
        for subject in ["judy", "ken", "leo"] {
            seqs.append(try revoke(tokenID: try #require(try issue(subject)["token_id"] as? String)))
        }
        let epoch = try epoch()
        // After the first: the two later events come in one batch whose head is the last.
        let json = try server.tokenctl(
            as: "gateway", ["watch", "--since", "\(seqs[0])", "--epoch", "\(epoch)", "--count", "2", "--json"])
        #expect(json.status == 0, "\(json.standardError)")
        let lines = try json.jsonLines()
        #expect(lines.map { $0["type"] as? String } == ["event", "event"])
        #expect(lines.map { $0["seq"] as? Int } == [seqs[1], seqs[2]])
        #expect(lines.map { $0["head_seq"] as? Int } == [seqs[2], seqs[2]])
        #expect(lines.map { $0["applied_seq"] as? Int } == [seqs[1], seqs[2]])
        #expect(lines.map { $0["lag_events"] as? Int } == [1, 0])

        let text = try server.tokenctl(
            as: "gateway", ["watch", "--since", "\(seqs[0])", "--epoch", "\(epoch)", "--count", "1"])
        #expect(text.status == 0)
        #expect(text.lines.count == 1)
        #expect(text.lines.first?.hasPrefix("revoked epoch=\(epoch) seq=\(seqs[1]) kind=token") == true)
        #expect(text.lines.first?.contains("head_seq=\(seqs[2]) applied_seq=\(seqs[1]) lag=1") == true)
    }

    @Test func watchFollowsLiveRevocations() throws {
        let first = try revoke(tokenID: try #require(try issue("mallory")["token_id"] as? String))
        let epoch = try epoch()
        let watch = try CommandLineRun.start(
            tokenctlArguments: server.withConnection(
                ["watch", "--since", "\(first)", "--epoch", "\(epoch)", "--count", "1", "--json"], as: "gateway"),
            in: server.directory
        )
        // Whether the watch subscribed before or after this revocation, it is the event after `first`.
        let tokenID = try #require(try issue("mallory")["token_id"] as? String)
        let second = try revoke(tokenID: tokenID)
        let run = try watch.finish()
        #expect(run.status == 0, "\(run.standardError)")
        let line = try run.jsonObject()
        #expect(line["type"] as? String == "event")
        #expect(line["seq"] as? Int == second)
        #expect(line["value"] as? String == tokenID)
    }

    @Test func watchShowsHeartbeats() throws {
        let seq = try revoke(tokenID: try #require(try issue("niaj")["token_id"] as? String))
        let epoch = try epoch()
        let json = try server.tokenctl(
            as: "gateway",
            ["watch", "--since", "\(seq)", "--epoch", "\(epoch)", "--heartbeats", "--count", "2", "--json"])
        #expect(json.status == 0, "\(json.standardError)")
        let lines = try json.jsonLines()
        #expect(lines.count == 2)
        for line in lines {
            #expect(line["type"] as? String == "heartbeat")
            #expect(line["seq"] is NSNull)
            #expect(line["epoch"] as? Int == epoch)
            #expect(line["head_seq"] as? Int == seq)
            #expect(line["applied_seq"] as? Int == seq)
            #expect(line["lag_events"] as? Int == 0)
            #expect((line["since_last_batch_ms"] as? Int ?? -1) >= 0)
            #expect(line["stale"] is Bool)
        }

        let text = try server.tokenctl(
            as: "gateway", ["watch", "--since", "\(seq)", "--epoch", "\(epoch)", "--heartbeats", "--count", "1"])
        #expect(text.status == 0)
        let heartbeat = "heartbeat epoch=\(epoch) head_seq=\(seq) applied_seq=\(seq) lag=0 since_last_batch="
        #expect(text.lines.first?.hasPrefix(heartbeat) == true)
    }
}

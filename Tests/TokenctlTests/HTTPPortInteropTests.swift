import Foundation
import Testing
import TokenTestSupport

/// tokend's HTTP port read by independent Python libraries (`tools/edges/http_port.py`): PyJWT's
/// `PyJWKClient` verifies an issued token from the JWK Set, and prometheus_client's parser reads
/// `/metrics`, where the Health counter moves by exactly one per Health call.
@Suite struct HTTPPortInteropTests {
    struct Output: Decodable {
        let kid: String
        let sub: String
        // swift-format-ignore: AlwaysUseLowerCamelCase
        let health_counts: [Double]
        let tls_failure_counts: [Double]
        let families: [String: String]
    }

    @Test func pythonLibrariesReadTheKeysAndTheMetrics() throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-http")
        let certificates = try TestCertificates(in: directory)
        let server = try TokenctlTestServer(
            directory: directory,
            arguments: [
                "--http-listen", "127.0.0.1:0", "--log-level", "warning",
            ] + certificates.mutualTLSServerArguments
        )
        let httpPort = try #require(server.httpPort)
        let tls = certificates.mutualTLSClientArguments
        let issued = try server.tokenctl(
            ["issue", "python-subject", "--audience", "interop-api", "--json", "--server", server.address]
                + ["--key-file", server.keyFile("issuer")] + tls
        )
        #expect(issued.status == 0, "\(issued.standardError)")
        let object = try issued.jsonObject()
        let token = try #require(object["access_token"] as? String)
        let keyID = try #require(object["key_id"] as? String)

        let run = try PythonScript.run(
            "tools/edges/http_port.py",
            arguments: [
                "--http", "127.0.0.1:\(httpPort)", "--rpc", server.address, "--token", token,
                "--issuer", "https://tokens.test", "--audience", "interop-api",
                "--ca", certificates.one.certificateFile,
                "--cert", certificates.clientOne.certificateFile, "--key", certificates.clientOne.privateKeyFile,
                "--calls", "3",
            ]
        )
        try #require(run.status == 0, "http_port.py failed: \(run.output)")
        let lastLine = try #require(run.output.split(separator: "\n").last)
        let output = try JSONDecoder().decode(Output.self, from: Data(lastLine.utf8))
        #expect(output.kid == keyID)
        #expect(output.sub == "python-subject")
        #expect(output.health_counts.count == 4)
        // Plain bytes, then a client without a certificate: one failure each.
        #expect(output.tls_failure_counts.count == 3)
        // Every documented metric, with its type as the parser read it.
        #expect(
            output.families == [
                "token_rpc_calls": "counter",
                "token_rpc_call_duration_seconds": "histogram",
                "token_store_commit_duration_seconds": "histogram",
                "token_store_commit_batch_size": "histogram",
                "token_watchers_connected": "gauge",
                "token_revocation_fanout_lag_seconds": "histogram",
                "token_signing_keys": "gauge",
                "token_signing_key_age_seconds": "gauge",
                "token_http_connections_refused": "counter",
                "token_rpc_connections_refused": "counter",
                "token_http_connections_open": "gauge",
                "token_rpc_connections_open": "gauge",
                "token_rpc_tls_handshake_failures": "counter",
            ]
        )
        let (status, _) = server.stop()
        #expect(status == 0)
    }
}

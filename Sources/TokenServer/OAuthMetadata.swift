#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// tokend's RFC 8414 authorization server metadata: the issuer and, under it, the JWK Set and the
/// revocation and introspection endpoints. Published only when the issuer is an `http` or `https`
/// URL without query or fragment: RFC 8414 clients check that the document's `issuer` is the URL
/// they fetched it under, so the issuer must be the URL clients reach the HTTP port at.
///
/// tokend has no authorization or token endpoint (tokens come from Issue and Refresh over the RPC
/// port), so the members RFC 8414 requires of those (`token_endpoint`, `response_types_supported`)
/// are left out rather than made up.
public struct OAuthMetadata: Sendable, Hashable {
    /// The document.
    public let json: String
    /// The paths it is served at: `/.well-known/oauth-authorization-server`, followed by the
    /// issuer's path when it has one (RFC 8414 §3.1).
    public let paths: Set<String>

    /// The metadata of `issuer`.
    /// - Parameter issuer: the service's issuer.
    /// - Returns: nil when the issuer is not an `http` or `https` URL without query or fragment.
    public init?(issuer: String) {
        guard let url = URL(string: issuer), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            url.host != nil, url.query == nil, url.fragment == nil, !issuer.contains("?"), !issuer.contains("#")
        else { return nil }
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        let document = Document(
            issuer: issuer,
            jwksURI: base + "/.well-known/jwks.json",
            revocationEndpoint: base + OAuthRoutes.revokePath,
            revocationEndpointAuthMethodsSupported: ["client_secret_basic"],
            introspectionEndpoint: base + OAuthRoutes.introspectPath,
            introspectionEndpointAuthMethodsSupported: ["client_secret_basic", "Bearer"]
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(document) else { return nil }
        json = String(decoding: data, as: UTF8.self)
        let path = url.path
        let wellKnown = "/.well-known/oauth-authorization-server"
        paths = path.isEmpty || path == "/" ? [wellKnown] : [wellKnown, wellKnown + path]
    }

    private struct Document: Encodable {
        let issuer: String
        let jwksURI: String
        let revocationEndpoint: String
        let revocationEndpointAuthMethodsSupported: [String]
        let introspectionEndpoint: String
        let introspectionEndpointAuthMethodsSupported: [String]

        enum CodingKeys: String, CodingKey {
            case issuer, jwksURI = "jwks_uri", revocationEndpoint = "revocation_endpoint"
            case revocationEndpointAuthMethodsSupported = "revocation_endpoint_auth_methods_supported"
            case introspectionEndpoint = "introspection_endpoint"
            case introspectionEndpointAuthMethodsSupported = "introspection_endpoint_auth_methods_supported"
        }
    }
}

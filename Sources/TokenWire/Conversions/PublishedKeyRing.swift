import TokenCore

/// The published keys as a `.keyRing` event of the log holds them: base64url of a `GetKeysResponse`
/// that carries only the keys, so the log stores exactly what WatchRevocations sends.
package enum PublishedKeyRing {
    /// The event value of `keys`.
    package static func encode(_ keys: [WirePublicKey]) -> String {
        Base64URL.encode(GetKeysResponse(keys: keys).serializedBytes())
    }

    /// The keys an event value holds; nil when it holds none (a damaged store).
    package static func decode(_ value: String) -> [WirePublicKey]? {
        guard let bytes = try? Base64URL.decode(value), let response = try? GetKeysResponse(serializedBytes: bytes),
            !response.keys.isEmpty
        else { return nil }
        return response.keys
    }
}

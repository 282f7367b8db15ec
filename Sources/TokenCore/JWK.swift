/// A JSON Web Key (RFC 7517) of one of the engine's two key types, read from JSON text.
struct JWK {
    /// DER that precedes the 32-byte Ed25519 public key in a SubjectPublicKeyInfo.
    private static let ed25519SPKIPrefix: [UInt8] = [
        0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00,
    ]
    /// DER that precedes the uncompressed P-256 point in a SubjectPublicKeyInfo.
    private static let p256SPKIPrefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A,
        0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]
    /// DER that precedes a 32-byte P-256 private scalar in a PKCS#8 PrivateKeyInfo without a public key.
    private static let p256PKCS8Prefix: [UInt8] = [
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
        0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01,
        0x01, 0x04, 0x20,
    ]

    let algorithm: TokenAlgorithm
    /// The public key as SubjectPublicKeyInfo DER.
    let spkiDER: [UInt8]
    /// The private part (`d`), when present. Secret.
    let privateKey: [UInt8]?

    /// Reads an `OKP`/`Ed25519` or `EC`/`P-256` JWK.
    init(json: String) throws(TokenError) {
        let object: JSONObject
        do {
            object = try JSONValue.parseObject(json)
        } catch {
            throw .invalidKey("JWK is not a JSON object")
        }
        func member(_ name: String, length: Int) throws(TokenError) -> [UInt8]? {
            guard let value = object[name] else { return nil }
            guard let text = value.stringValue, let bytes = Base64URL.decode(Array(text.utf8)[...]),
                bytes.count == length
            else {
                throw .invalidKey("JWK member \(name) is not \(length) base64url bytes")
            }
            return bytes
        }
        switch (object["kty"]?.stringValue, object["crv"]?.stringValue) {
        case ("OKP", "Ed25519"):
            guard let x = try member("x", length: 32) else { throw .invalidKey("JWK without x") }
            algorithm = .edDSA
            spkiDER = Self.ed25519SPKIPrefix + x
        case ("EC", "P-256"):
            guard let x = try member("x", length: 32), let y = try member("y", length: 32) else {
                throw .invalidKey("JWK without x or y")
            }
            algorithm = .es256
            spkiDER = Self.p256SPKIPrefix + [0x04] + x + y
        default:
            throw .unsupportedKey
        }
        if let alg = object["alg"], alg.stringValue != algorithm.rawValue {
            throw .invalidKey("JWK alg does not match its key type")
        }
        privateKey = try member("d", length: 32)
    }

    /// The private key, checked against the JWK's public members; nil for a public JWK.
    func makePrivateKey() throws(TokenError) -> EVPKey? {
        guard let privateKey else { return nil }
        let key: EVPKey
        switch algorithm {
        case .edDSA: key = try EVPKey.ed25519PrivateKey(seed: privateKey)
        case .es256: key = try EVPKey.privateKey(pkcs8DER: Self.p256PKCS8Prefix + privateKey)
        }
        guard try key.spkiDER() == spkiDER else { throw .invalidKey("JWK d does not match its public key") }
        return key
    }

    /// The JSON text of the public JWK of `key`, with `kid`, `alg` and `use`.
    static func json(for key: VerificationKey, keyID: String) -> String {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"kty":"#.utf8)
        appendPublicMembers(of: key, to: &out, kidAlgUse: keyID)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The RFC 7638 thumbprint input: the required members in lexicographic order.
    static func thumbprintInput(for key: VerificationKey) -> [UInt8] {
        let raw = key.rawPublicKey
        switch key.algorithm {
        case .edDSA:
            return Array(#"{"crv":"Ed25519","kty":"OKP","x":""#.utf8) + Array(Base64URL.encode(raw).utf8)
                + Array(#""}"#.utf8)
        case .es256:
            return Array(#"{"crv":"P-256","kty":"EC","x":""#.utf8) + Array(Base64URL.encode(raw[1..<33]).utf8)
                + Array(#"","y":""#.utf8) + Array(Base64URL.encode(raw[33..<65]).utf8) + Array(#""}"#.utf8)
        }
    }

    private static func appendPublicMembers(of key: VerificationKey, to out: inout [UInt8], kidAlgUse keyID: String) {
        let raw = key.rawPublicKey
        switch key.algorithm {
        case .edDSA:
            out.append(contentsOf: #""OKP","crv":"Ed25519","x":""#.utf8)
            Base64URL.append(raw, to: &out)
        case .es256:
            out.append(contentsOf: #""EC","crv":"P-256","x":""#.utf8)
            Base64URL.append(raw[1..<33], to: &out)
            out.append(contentsOf: #"","y":""#.utf8)
            Base64URL.append(raw[33..<65], to: &out)
        }
        out.append(contentsOf: #"","kid":"#.utf8)
        JSONWriter.appendString(keyID, to: &out)
        out.append(contentsOf: #","alg":""#.utf8)
        out.append(contentsOf: key.algorithm.rawValue.utf8)
        out.append(contentsOf: #"","use":"sig""#.utf8)
    }
}

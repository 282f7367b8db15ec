import CTokenProto

/// One published public key (`token.v1.PublicKey`).
public struct WirePublicKey: Sendable, Hashable {
    /// The `kid` tokens name.
    public var keyID: String
    /// "EdDSA" or "ES256".
    public var algorithm: String
    /// SubjectPublicKeyInfo, DER.
    public var publicKeyDER: [UInt8]
    /// When the key was (or will be) first used (Unix seconds).
    public var notBefore: Int64
    /// When the key stops being published (Unix seconds); 0 = open.
    public var notAfter: Int64
    /// The key's place in the rotation.
    public var state: KeyState

    /// Creates a key description.
    public init(
        keyID: String = "",
        algorithm: String = "",
        publicKeyDER: [UInt8] = [],
        notBefore: Int64 = 0,
        notAfter: Int64 = 0,
        state: KeyState = .unspecified
    ) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.publicKeyDER = publicKeyDER
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.state = state
    }
}

extension WirePublicKey: ProtobufCBridged {
    static var messageName: String { "token.v1.PublicKey" }
    static func emptyCMessage() -> Token__V1__PublicKey {
        var c = Token__V1__PublicKey()
        token__v1__public_key__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__PublicKey) throws(TokenWireError) {
        self.init(
            keyID: try CField.string(c.key_id, in: Self.messageName),
            algorithm: try CField.string(c.algorithm, in: Self.messageName),
            publicKeyDER: CField.bytes(c.public_key_der),
            notBefore: c.not_before,
            notAfter: c.not_after,
            state: KeyState(rawValue: CField.enumValue(c.state))
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__PublicKey {
        var c = Self.emptyCMessage()
        c.key_id = arena.cString(keyID)
        c.algorithm = arena.cString(algorithm)
        c.public_key_der = arena.binary(publicKeyDER)
        c.not_before = notBefore
        c.not_after = notAfter
        c.state = Token__V1__KeyState(rawValue: .init(truncatingIfNeeded: state.rawValue))
        return c
    }
}

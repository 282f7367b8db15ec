extension StoredSigningKey {
    /// The most keys a key ring may hold, in any store.
    public static let maxRingSize = 64
    /// The largest private key a store keeps (PKCS#8 DER), in bytes.
    public static let maxPrivateKeyBytes = 16 * 1024

    /// Checks a key ring before a store saves it: at most `maxRingSize` keys, each with a distinct
    /// id of 1 to 64 of A-Z a-z 0-9 _ - and a private key of 1 byte to `maxPrivateKeyBytes`.
    /// - Throws: `TokenStoreError.rejected`, naming what is wrong.
    public static func checkRing(_ keys: [StoredSigningKey]) throws(TokenStoreError) {
        guard keys.count <= maxRingSize else {
            throw .rejected("a key ring holds at most \(maxRingSize) keys")
        }
        var keyIDs = Set<String>()
        for key in keys {
            guard KeyFileDirectory.isValidKeyID(key.keyID) else {
                throw .rejected("a key id must be 1 to 64 of A-Z a-z 0-9 _ -")
            }
            guard keyIDs.insert(key.keyID).inserted else { throw .rejected("duplicate key id \(key.keyID)") }
            guard (1...maxPrivateKeyBytes).contains(key.privateKeyPKCS8.count) else {
                throw .rejected("the private key of \(key.keyID) is empty or too large")
            }
        }
    }
}

import TokenCore

extension WirePublicKey {
    /// The published form of a key ring entry: its public key and place in the rotation.
    package init(_ entry: KeyRing.Entry) {
        self.init(
            keyID: entry.keyID,
            algorithm: entry.key.algorithm.rawValue,
            publicKeyDER: entry.key.publicKey.spkiDER,
            notBefore: entry.notBefore,
            notAfter: entry.notAfter,
            state: KeyState(entry.state)
        )
    }
}

extension KeyState {
    /// The wire state of a key ring entry's state.
    package init(_ state: KeyRing.State) {
        switch state {
        case .active: self = .active
        case .next: self = .next
        case .retiring: self = .retiring
        }
    }
}

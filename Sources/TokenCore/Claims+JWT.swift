extension Claims {
    /// Reads claims from JWT payload bytes (one JSON object, read member by member); nil when the
    /// bytes are not a strict JSON object, a name repeats, a claim has the wrong type, or a required
    /// one (`iss`, `sub`, `exp`, `iat`, `jti`) is missing.
    init?(jwtPayload payload: ArraySlice<UInt8>) {
        guard var reader = JSONParser.objectReader(payload) else { return nil }
        var issuer: String?
        var subject: String?
        var audience: [String] = []
        var scopes: [String] = []
        var tokenID: String?
        var sessionID = ""
        var issuedAt: Int64?
        var expiresAt: Int64?
        var notBefore: Int64 = 0
        var extra: [JSONObject.Member] = []
        var seenClaims: UInt16 = 0
        var extraNames = NameSet()
        readMembers: while true {
            let name: ArraySlice<UInt8>
            switch reader.nextMember() {
            case .name(let next): name = next
            case .end: break readMembers
            case .invalid: return nil
            }
            let claim = RegisteredClaim(name)
            if let claim {
                guard seenClaims & claim.bit == 0 else { return nil }
                seenClaims |= claim.bit
            }
            switch claim {
            case .issuer:
                guard let value = reader.readString() else { return nil }
                issuer = value
            case .subject:
                guard let value = reader.readString() else { return nil }
                subject = value
            case .audience:
                switch reader.readValue() {
                case .string(let value)?:
                    audience = [value]
                case .array(let values)?:
                    audience = []
                    for value in values {
                        guard let text = value.stringValue else { return nil }
                        audience.append(text)
                    }
                default:
                    return nil
                }
            case .expiresAt:
                guard let value = reader.readInt64() else { return nil }
                expiresAt = value
            case .issuedAt:
                guard let value = reader.readInt64() else { return nil }
                issuedAt = value
            case .notBefore:
                guard let value = reader.readInt64() else { return nil }
                notBefore = value
            case .tokenID:
                guard let value = reader.readString() else { return nil }
                tokenID = value
            case .sessionID:
                guard let value = reader.readString() else { return nil }
                sessionID = value
            case .scope:
                guard let value = reader.readString() else { return nil }
                scopes = value.utf8.split(separator: UInt8(ascii: " ")).map { String(Substring($0)) }
            case nil:
                let text = String(decoding: name, as: UTF8.self)
                guard extraNames.insert(text), let value = reader.readValue() else { return nil }
                extra.append(JSONObject.Member(name: text, value: value))
            }
        }
        guard let issuer, let subject, let tokenID, let issuedAt, let expiresAt else { return nil }
        self.init(
            issuer: issuer,
            subject: subject,
            audience: audience,
            scopes: scopes,
            tokenID: tokenID,
            sessionID: sessionID,
            issuedAt: issuedAt,
            expiresAt: expiresAt,
            notBefore: notBefore,
            extraClaimsJSON: extra.isEmpty ? "" : JSONObject(uniqueMembers: extra).jsonText
        )
    }

    /// The JWT payload: registered claims in a fixed order, then the extra claims.
    /// - Throws: `TokenError.invalidJSON`/`invalidClaims` for bad extra claims or scopes.
    func jwtPayload() throws(TokenError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + extraClaimsJSON.utf8.count)
        out.append(contentsOf: #"{"iss":"#.utf8)
        JSONWriter.appendString(issuer, to: &out)
        out.append(contentsOf: #","sub":"#.utf8)
        JSONWriter.appendString(subject, to: &out)
        if audience.count == 1 {
            out.append(contentsOf: #","aud":"#.utf8)
            JSONWriter.appendString(audience[0], to: &out)
        } else if !audience.isEmpty {
            out.append(contentsOf: #","aud":["#.utf8)
            for (index, value) in audience.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(value, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #","exp":"#.utf8)
        JSONWriter.appendInteger(expiresAt, to: &out)
        out.append(contentsOf: #","nbf":"#.utf8)
        JSONWriter.appendInteger(notBefore, to: &out)
        out.append(contentsOf: #","iat":"#.utf8)
        JSONWriter.appendInteger(issuedAt, to: &out)
        out.append(contentsOf: #","jti":"#.utf8)
        JSONWriter.appendString(tokenID, to: &out)
        if !sessionID.isEmpty {
            out.append(contentsOf: #","sid":"#.utf8)
            JSONWriter.appendString(sessionID, to: &out)
        }
        if !scopes.isEmpty {
            guard !scopes.contains(where: { $0.isEmpty || $0.utf8.contains(UInt8(ascii: " ")) }) else {
                throw .invalidClaims("a scope is empty or contains a space")
            }
            out.append(contentsOf: #","scope":""#.utf8)
            for (index, scope) in scopes.enumerated() {
                if index > 0 { out.append(UInt8(ascii: " ")) }
                JSONWriter.appendStringContent(scope, to: &out)
            }
            out.append(UInt8(ascii: "\""))
        }
        if !extraClaimsJSON.isEmpty {
            try Self.validateExtraClaims(extraClaimsJSON).appendMembers(to: &out, leadingComma: true)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// The claim names `Claims` reads into its own fields, recognised from raw UTF-8.
private enum RegisteredClaim: Int {
    case issuer, subject, audience, expiresAt, issuedAt, notBefore, tokenID, sessionID, scope

    /// The claim's bit in a set of claims seen.
    var bit: UInt16 { 1 << UInt16(rawValue) }

    init?(_ name: ArraySlice<UInt8>) {
        let start = name.startIndex
        if name.count == 5 {
            guard name.elementsEqual("scope".utf8) else { return nil }
            self = .scope
            return
        }
        guard name.count == 3 else { return nil }
        switch (name[start], name[start + 1], name[start + 2]) {
        case (UInt8(ascii: "i"), UInt8(ascii: "s"), UInt8(ascii: "s")): self = .issuer
        case (UInt8(ascii: "s"), UInt8(ascii: "u"), UInt8(ascii: "b")): self = .subject
        case (UInt8(ascii: "a"), UInt8(ascii: "u"), UInt8(ascii: "d")): self = .audience
        case (UInt8(ascii: "e"), UInt8(ascii: "x"), UInt8(ascii: "p")): self = .expiresAt
        case (UInt8(ascii: "i"), UInt8(ascii: "a"), UInt8(ascii: "t")): self = .issuedAt
        case (UInt8(ascii: "n"), UInt8(ascii: "b"), UInt8(ascii: "f")): self = .notBefore
        case (UInt8(ascii: "j"), UInt8(ascii: "t"), UInt8(ascii: "i")): self = .tokenID
        case (UInt8(ascii: "s"), UInt8(ascii: "i"), UInt8(ascii: "d")): self = .sessionID
        default: return nil
        }
    }
}

/// Extra claim names seen so far, to refuse duplicates: a linear scan for a few, a set beyond, so
/// hostile payloads with thousands of members stay linear in time.
private struct NameSet {
    private static let linearLimit = 16
    private var names: [String] = []
    private var hashed: Set<String> = []

    /// Adds `name`; false when it was already there.
    mutating func insert(_ name: String) -> Bool {
        if names.count < Self.linearLimit {
            guard !names.contains(name) else { return false }
            names.append(name)
            if names.count == Self.linearLimit { hashed = Set(names) }
            return true
        }
        return hashed.insert(name).inserted
    }
}

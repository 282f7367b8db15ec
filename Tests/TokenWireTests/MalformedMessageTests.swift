import Testing
import TokenWire

@Suite struct MalformedMessageTests {
    /// `C3 28` is a lead byte followed by a non-continuation byte; `C0 AF` is an overlong "/";
    /// `ED A0 80` is an encoded surrogate; `FF` never occurs in UTF-8.
    static let invalidUTF8: [[UInt8]] = [[0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x61, 0xFF]]

    /// A length-delimited field: tag byte, one-byte length, content.
    private static func field(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag, UInt8(content.count)] + content
    }

    @Test(arguments: invalidUTF8)
    func invalidUTF8IsRejectedWherever(bad: [UInt8]) {
        #expect(throws: TokenWireError.invalidUTF8("token.v1.ValidateRequest")) {
            try ValidateRequest(serializedBytes: Self.field(0x0A, bad))
        }
        // A repeated string (audience, field 2).
        #expect(throws: TokenWireError.invalidUTF8("token.v1.IssueRequest")) {
            try IssueRequest(serializedBytes: Self.field(0x12, Array("ok".utf8)) + Self.field(0x12, bad))
        }
        // A map key and a map value (metadata, field 7).
        #expect(throws: TokenWireError.invalidUTF8("token.v1.IssueRequest")) {
            try IssueRequest(serializedBytes: Self.field(0x3A, Self.field(0x0A, bad)))
        }
        #expect(throws: TokenWireError.invalidUTF8("token.v1.Session")) {
            try WireSession(serializedBytes: Self.field(0x32, Self.field(0x0A, [0x6B]) + Self.field(0x12, bad)))
        }
        // A oneof member (subject, field 4).
        #expect(throws: TokenWireError.invalidUTF8("token.v1.RevokeRequest")) {
            try RevokeRequest(serializedBytes: Self.field(0x22, bad))
        }
        // A nested message (claims, field 3) and a repeated nested message (keys, field 1).
        #expect(throws: TokenWireError.invalidUTF8("token.v1.Claims")) {
            try ValidateResponse(serializedBytes: Self.field(0x1A, Self.field(0x0A, bad)))
        }
        #expect(throws: TokenWireError.invalidUTF8("token.v1.PublicKey")) {
            try GetKeysResponse(serializedBytes: Self.field(0x0A, []) + Self.field(0x0A, Self.field(0x12, bad)))
        }
        #expect(throws: TokenWireError.invalidUTF8("token.v1.RevocationEvent")) {
            try RevocationBatch(serializedBytes: Self.field(0x0A, Self.field(0x1A, bad)))
        }
    }

    /// protobuf-c's C strings end at a NUL, so a string holding one would silently read as its prefix.
    @Test func aNULInAnyStringIsRejected() {
        let bad: [UInt8] = [0x6B, 0x00, 0x78]
        #expect(throws: TokenWireError.nulInString("token.v1.RpcRequest")) {
            try RpcRequest(serializedBytes: [0x08, 0x01] + Self.field(0x22, bad))
        }
        // A repeated string, a map key and a map value.
        #expect(throws: TokenWireError.nulInString("token.v1.IssueRequest")) {
            try IssueRequest(serializedBytes: Self.field(0x12, Array("ok".utf8)) + Self.field(0x12, bad))
        }
        #expect(throws: TokenWireError.nulInString("token.v1.IssueRequest")) {
            try IssueRequest(serializedBytes: Self.field(0x3A, Self.field(0x0A, bad)))
        }
        #expect(throws: TokenWireError.nulInString("token.v1.IssueRequest")) {
            try IssueRequest(serializedBytes: Self.field(0x3A, Self.field(0x0A, [0x6B]) + Self.field(0x12, bad)))
        }
        // A oneof member, a nested message and a repeated nested message.
        #expect(throws: TokenWireError.nulInString("token.v1.RevokeRequest")) {
            try RevokeRequest(serializedBytes: Self.field(0x22, bad))
        }
        #expect(throws: TokenWireError.nulInString("token.v1.ValidateResponse")) {
            try ValidateResponse(serializedBytes: Self.field(0x1A, Self.field(0x0A, bad)))
        }
        #expect(throws: TokenWireError.nulInString("token.v1.GetKeysResponse")) {
            try GetKeysResponse(serializedBytes: Self.field(0x0A, []) + Self.field(0x0A, Self.field(0x12, bad)))
        }
    }

    @Test func aNULInBytesOrInAnUnknownFieldIsKept() throws {
        // Payload (bytes, field 3), then an unknown field 15 holding a NUL, which protobuf-c skips.
        let request = try RpcRequest(serializedBytes: [0x08, 0x01] + Self.field(0x1A, [0x00, 0x01]) + Self.field(0x7A, [0x00]))
        #expect(request == RpcRequest(callID: 1, payload: [0x00, 0x01]))
    }

    @Test func bytesFieldsAcceptAnyBytes() throws {
        let key = try WirePublicKey(serializedBytes: Self.field(0x1A, [0xFF, 0x00, 0xC3]))
        #expect(key.publicKeyDER == [0xFF, 0x00, 0xC3])
    }

    @Test func droppingTheLastByteOfAnyMessageIsRejected() {
        func check<Message: WireMessage>(_ message: Message, _ name: String) {
            let bytes = message.serializedBytes()
            #expect(throws: TokenWireError.invalidMessage(name)) {
                try Message(serializedBytes: Array(bytes.dropLast()))
            }
        }
        check(MessageSamples.issueRequest, "token.v1.IssueRequest")
        check(MessageSamples.issueResponse, "token.v1.IssueResponse")
        check(MessageSamples.refreshRequest, "token.v1.RefreshRequest")
        check(MessageSamples.validateRequest, "token.v1.ValidateRequest")
        check(MessageSamples.validateResponse, "token.v1.ValidateResponse")
        check(MessageSamples.claims, "token.v1.Claims")
        for request in MessageSamples.revokeRequests {
            check(request, "token.v1.RevokeRequest")
        }
        check(MessageSamples.revokeResponse, "token.v1.RevokeResponse")
        check(MessageSamples.publicKey, "token.v1.PublicKey")
        check(MessageSamples.getKeysResponse, "token.v1.GetKeysResponse")
        check(MessageSamples.rotateKeysResponse, "token.v1.RotateKeysResponse")
        check(MessageSamples.watchRevocationsRequest, "token.v1.WatchRevocationsRequest")
        check(MessageSamples.revocationEvent, "token.v1.RevocationEvent")
        check(MessageSamples.keyRingEvent, "token.v1.RevocationEvent")
        check(MessageSamples.revocationBatch, "token.v1.RevocationBatch")
        check(MessageSamples.listSessionsRequest, "token.v1.ListSessionsRequest")
        check(MessageSamples.session, "token.v1.Session")
        check(MessageSamples.listSessionsResponse, "token.v1.ListSessionsResponse")
        check(MessageSamples.healthResponse, "token.v1.HealthResponse")
    }

    @Test func truncatedFieldsAreRejected() {
        let cases: [[UInt8]] = [
            [0x0A],  // a tag without its length
            [0x0A, 0x05, 0x61],  // a length beyond the end
            [0x10, 0x80],  // a varint cut after a continuation byte
            [0x8A],  // a tag cut after a continuation byte
        ]
        for bytes in cases {
            #expect(throws: TokenWireError.invalidMessage("token.v1.RefreshRequest")) {
                try RefreshRequest(serializedBytes: bytes)
            }
        }
        // A nested message whose declared length is longer than its parent's remaining bytes.
        #expect(throws: TokenWireError.invalidMessage("token.v1.ValidateResponse")) {
            try ValidateResponse(serializedBytes: [0x1A, 0x04, 0x0A, 0x08, 0x61, 0x62])
        }
    }

    @Test func wrongWireTypesAreRejected() {
        // A string field (token) sent as a varint.
        #expect(throws: TokenWireError.invalidMessage("token.v1.ValidateRequest")) {
            try ValidateRequest(serializedBytes: [0x08, 0x01])
        }
        // A uint64 field (seq) sent length-delimited.
        #expect(throws: TokenWireError.invalidMessage("token.v1.RevokeResponse")) {
            try RevokeResponse(serializedBytes: [0x0A, 0x01, 0x01])
        }
        // An int64 field (expires_at) sent as fixed32.
        #expect(throws: TokenWireError.invalidMessage("token.v1.IssueResponse")) {
            try IssueResponse(serializedBytes: [0x25, 1, 2, 3, 4])
        }
        // A nested message field (claims) sent as a varint.
        #expect(throws: TokenWireError.invalidMessage("token.v1.ValidateResponse")) {
            try ValidateResponse(serializedBytes: [0x18, 0x01])
        }
        // A repeated message field (sessions) sent as fixed64.
        #expect(throws: TokenWireError.invalidMessage("token.v1.ListSessionsResponse")) {
            try ListSessionsResponse(serializedBytes: [0x09, 1, 2, 3, 4, 5, 6, 7, 8])
        }
        // Group wire types and the undefined wire types 6 and 7.
        for tag: UInt8 in [0x0B, 0x0C, 0x0E, 0x0F] {
            #expect(throws: TokenWireError.invalidMessage("token.v1.HealthRequest")) {
                try HealthRequest(serializedBytes: [tag, 0x00])
            }
        }
    }

    @Test func hugeLengthsAreRejected() {
        let hugeLengths: [[UInt8]] = [
            [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],  // 2^32 - 1
            [0x80, 0x80, 0x80, 0x80, 0x08],  // 2^31
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // 2^64 - 1
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // an 11-byte varint
        ]
        for length in hugeLengths {
            // A string field, a bytes field, a nested message and an unknown field.
            #expect(throws: TokenWireError.invalidMessage("token.v1.HealthResponse")) {
                try HealthResponse(serializedBytes: [0x12] + length + [0x61, 0x62])
            }
            #expect(throws: TokenWireError.invalidMessage("token.v1.PublicKey")) {
                try WirePublicKey(serializedBytes: [0x1A] + length + [0x61, 0x62])
            }
            #expect(throws: TokenWireError.invalidMessage("token.v1.GetKeysResponse")) {
                try GetKeysResponse(serializedBytes: [0x0A] + length + [0x61, 0x62])
            }
            #expect(throws: TokenWireError.invalidMessage("token.v1.HealthRequest")) {
                try HealthRequest(serializedBytes: [0x7A] + length + [0x61, 0x62])
            }
        }
        // An overlong varint in a varint field.
        #expect(throws: TokenWireError.invalidMessage("token.v1.RevokeResponse")) {
            try RevokeResponse(serializedBytes: [0x08] + Array(repeating: 0x80, count: 10) + [0x01])
        }
    }
}

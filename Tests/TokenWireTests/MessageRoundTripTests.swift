import Testing
import TokenWire

/// Parses `message`'s serialization and checks that it reads back equal, with the size it announced.
private func expectRoundTrip<Message: WireMessage & Equatable>(
    _ message: Message,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let bytes = message.serializedBytes()
    #expect(bytes.count == message.serializedSize, sourceLocation: sourceLocation)
    let decoded = try Message(serializedBytes: bytes)
    #expect(decoded == message, sourceLocation: sourceLocation)
}

/// Checks that the default message packs to no bytes and that no bytes parse to the default message.
private func expectDefaultIsEmpty<Message: WireMessage & Equatable>(
    _ message: Message,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(message.serializedBytes() == [], sourceLocation: sourceLocation)
    #expect(message.serializedSize == 0, sourceLocation: sourceLocation)
    #expect(try Message(serializedBytes: [UInt8]()) == message, sourceLocation: sourceLocation)
}

@Suite struct MessageRoundTripTests {
    @Test func everyMessageWithEveryFieldSetRoundTrips() throws {
        try expectRoundTrip(MessageSamples.issueRequest)
        try expectRoundTrip(MessageSamples.issueResponse)
        try expectRoundTrip(MessageSamples.refreshRequest)
        try expectRoundTrip(MessageSamples.validateRequest)
        try expectRoundTrip(MessageSamples.validateResponse)
        try expectRoundTrip(MessageSamples.validateResponseUnknownReason)
        try expectRoundTrip(MessageSamples.claims)
        try expectRoundTrip(MessageSamples.revokeResponse)
        try expectRoundTrip(GetKeysRequest())
        try expectRoundTrip(MessageSamples.publicKey)
        try expectRoundTrip(MessageSamples.getKeysResponse)
        try expectRoundTrip(RotateKeysRequest())
        try expectRoundTrip(MessageSamples.rotateKeysRequest)
        try expectRoundTrip(MessageSamples.rotateKeysResponse)
        try expectRoundTrip(MessageSamples.watchRevocationsRequest)
        try expectRoundTrip(MessageSamples.revocationEvent)
        try expectRoundTrip(MessageSamples.keyRingEvent)
        try expectRoundTrip(MessageSamples.revocationBatch)
        try expectRoundTrip(MessageSamples.listSessionsRequest)
        try expectRoundTrip(MessageSamples.session)
        try expectRoundTrip(MessageSamples.listSessionsResponse)
        try expectRoundTrip(HealthRequest())
        try expectRoundTrip(MessageSamples.healthResponse)
    }

    @Test(arguments: MessageSamples.revokeRequests)
    func everyRevokeTargetRoundTrips(request: RevokeRequest) throws {
        try expectRoundTrip(request)
    }

    @Test func anEmptyButSetTargetStaysSet() throws {
        // Field 1 (token), length 0: present, unlike an unset target.
        #expect(RevokeRequest(target: .token("")).serializedBytes() == [0x0A, 0x00])
        #expect(try RevokeRequest(serializedBytes: [0x0A, 0x00]).target == .token(""))
    }

    @Test func theLastOneofMemberOnTheWireWins() throws {
        // token_id "a", then subject "b".
        let request = try RevokeRequest(serializedBytes: [0x12, 0x01, 0x61, 0x22, 0x01, 0x62])
        #expect(request.target == .subject("b"))
    }

    @Test func presentButEmptyClaimsStayPresent() throws {
        #expect(ValidateResponse(claims: WireClaims()).serializedBytes() == [0x1A, 0x00])
        #expect(try ValidateResponse(serializedBytes: [0x1A, 0x00]).claims == WireClaims())
        #expect(try ValidateResponse(serializedBytes: [UInt8]()).claims == nil)
    }

    @Test func defaultsAreEmptyBytes() throws {
        try expectDefaultIsEmpty(IssueRequest())
        try expectDefaultIsEmpty(IssueResponse())
        try expectDefaultIsEmpty(RefreshRequest())
        try expectDefaultIsEmpty(ValidateRequest())
        try expectDefaultIsEmpty(ValidateResponse())
        try expectDefaultIsEmpty(WireClaims())
        try expectDefaultIsEmpty(RevokeRequest())
        try expectDefaultIsEmpty(RevokeResponse())
        try expectDefaultIsEmpty(GetKeysRequest())
        try expectDefaultIsEmpty(WirePublicKey())
        try expectDefaultIsEmpty(GetKeysResponse())
        try expectDefaultIsEmpty(RotateKeysRequest())
        try expectDefaultIsEmpty(RotateKeysResponse())
        try expectDefaultIsEmpty(WatchRevocationsRequest())
        try expectDefaultIsEmpty(WireRevocationEvent())
        try expectDefaultIsEmpty(RevocationBatch())
        try expectDefaultIsEmpty(ListSessionsRequest())
        try expectDefaultIsEmpty(WireSession())
        try expectDefaultIsEmpty(ListSessionsResponse())
        try expectDefaultIsEmpty(HealthRequest())
        try expectDefaultIsEmpty(HealthResponse())
    }

    @Test func unknownEnumValuesAreKept() throws {
        for value: Int32 in [10, 99, .max, -1, .min] {
            let response = ValidateResponse(reason: .unrecognized(value))
            #expect(try ValidateResponse(serializedBytes: response.serializedBytes()).reason == .unrecognized(value))
            let key = WirePublicKey(state: KeyState(rawValue: value))
            #expect(try WirePublicKey(serializedBytes: key.serializedBytes()).state == .unrecognized(value))
            let event = WireRevocationEvent(kind: RevocationKind(rawValue: value))
            #expect(try WireRevocationEvent(serializedBytes: event.serializedBytes()).kind == .unrecognized(value))
        }
    }

    @Test func enumNumbersMatchTheContract() {
        #expect(Reason.allCases.map(\.rawValue) == Array(0...9))
        #expect(Reason.allCases.allSatisfy { Reason(rawValue: $0.rawValue) == $0 })
        #expect(Reason.badSignature.rawValue == 2)
        #expect(Reason.revoked.rawValue == 9)
        #expect(KeyState.allCases.map(\.rawValue) == [0, 1, 2, 3])
        #expect(KeyState(rawValue: 2) == .next)
        #expect(RevocationKind.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5])
        #expect(RevocationKind(rawValue: 3) == .subject)
        #expect(RevocationKind(rawValue: 4) == .key)
        #expect(RevocationKind(rawValue: 5) == .keyRing)
        #expect(Reason(rawValue: 10) == .unrecognized(10))
    }

    @Test func aDuplicatedMapKeyKeepsTheLastValue() throws {
        // Field 7 (metadata) twice: {key "k", value "1"}, then {key "k", value "2"}.
        let entry1: [UInt8] = [0x3A, 0x06, 0x0A, 0x01, 0x6B, 0x12, 0x01, 0x31]
        let entry2: [UInt8] = [0x3A, 0x06, 0x0A, 0x01, 0x6B, 0x12, 0x01, 0x32]
        #expect(try IssueRequest(serializedBytes: entry1 + entry2).metadata == ["k": "2"])
        #expect(try IssueRequest(serializedBytes: entry2 + entry1).metadata == ["k": "1"])
    }

    @Test func aMapEntryWithoutKeyOrValueReadsAsEmptyStrings() throws {
        // Session field 6 (metadata): an empty entry, then one with only a value.
        let bytes: [UInt8] = [0x32, 0x00, 0x32, 0x03, 0x12, 0x01, 0x76]
        #expect(try WireSession(serializedBytes: bytes).metadata == ["": "v"])
        #expect(try WireSession(serializedBytes: [0x32, 0x00]).metadata == ["": ""])
    }

    @Test func equalMapsPackToEqualBytes() {
        var forward: [String: String] = [:]
        var backward: [String: String] = [:]
        let keys = (0..<50).map { "key-\($0)" }
        for key in keys { forward[key] = key.uppercased() }
        for key in keys.reversed() { backward[key] = key.uppercased() }
        #expect(IssueRequest(metadata: forward).serializedBytes() == IssueRequest(metadata: backward).serializedBytes())
    }

    @Test func unknownFieldsAreSkipped() throws {
        // Field 15 as a varint, field 16 as length-delimited, field 17 as fixed32, field 18 as fixed64.
        let unknown: [UInt8] =
            [0x78, 0x05, 0x82, 0x01, 0x02, 0x68, 0x69, 0x8D, 0x01, 1, 2, 3, 4, 0x91, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]
        let bytes = MessageSamples.validateRequest.serializedBytes() + unknown
        #expect(try ValidateRequest(serializedBytes: bytes) == MessageSamples.validateRequest)
        #expect(try HealthRequest(serializedBytes: unknown) == HealthRequest())
    }
}

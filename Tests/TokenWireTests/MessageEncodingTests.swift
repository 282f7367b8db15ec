import Testing
import TokenWire

/// Decodes a string of hexadecimal digits (test literals only).
private func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8)
    return stride(from: 0, to: digits.count - 1, by: 2).compactMap { index in
        UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16)
    }
}

/// Checks that `message` packs to `expected` exactly and that `expected` parses back to `message`.
private func expectEncoding<Message: WireMessage & Equatable>(
    _ message: Message,
    _ expected: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(message.serializedBytes() == hex(expected), sourceLocation: sourceLocation)
    #expect(try Message(serializedBytes: hex(expected)) == message, sourceLocation: sourceLocation)
}

/// The expected bytes below come from an independent encoder: protobuf's Python implementation, run on
/// `proto/token/v1/token.proto` with deterministic serialization (map entries sorted by key).
@Suite struct MessageEncodingTests {
    @Test func hexLiteralsDecode() {
        #expect(hex("0aff10") == [0x0A, 0xFF, 0x10])
    }

    @Test func issueRequest() throws {
        try expectEncoding(
            MessageSamples.issueRequest,
            "0a087573c3a9722d34321203617069120762696c6c696e671a04726561641a05777269746522117b2274656e616e7422"
                + "3a2261636d65227d28d80430013a0f0a02697012093139322e302e322e313a160a0a757365725f6167656e7412086375"
                + "726c2f382e35"
        )
    }

    @Test func refreshRequest() throws {
        try expectEncoding(MessageSamples.refreshRequest, "0a0972742d6f706171756510ffffffff0f")
    }

    @Test func validateResponseWithNestedClaims() throws {
        try expectEncoding(
            MessageSamples.validateResponse,
            "080110091a620a087573c3a9722d3432121668747470733a2f2f6973737565722e6578616d706c651a036170692204"
                + "72656164220577726974652a056a74692d3132057369642d313880e2cfaa064084e9cfaa0648ffffffffffffffffff"
                + "0152077b2278223a317d"
        )
        try expectEncoding(MessageSamples.validateResponseUnknownReason, "102a1a00")
    }

    @Test func revokeRequest() throws {
        try expectEncoding(MessageSamples.revokeRequests[3], "22087573c3a9722d34322a0a6f6666626f6172646564")
        try expectEncoding(MessageSamples.revokeRequests[4], "0a00")
    }

    @Test func getKeysResponseWithRepeatedKeysAndAnUnknownState() throws {
        try expectEncoding(
            MessageSamples.getKeysResponse,
            "0a290a026b31120545644453411a0e302a300506032b657003210001022080e2cfaa062880a4a7da0630030a110a026b"
                + "32120545533235361a0230593007120b7b226b657973223a5b5d7d18ac02"
        )
    }

    @Test func revocationBatchWithNegativeValues() throws {
        try expectEncoding(
            MessageSamples.revocationBatch,
            "0a1a080710031a087573c3a9722d34322080e2cfaa06288085d5aa060a1b080810ffffffffffffffffff011a017820fb"
                + "ffffffffffffffff011008180120cb89ec8ff723"
        )
    }

    @Test func listSessionsResponseWithMaps() throws {
        try expectEncoding(
            MessageSamples.listSessionsResponse,
            "0a350a057369642d3112087573c3a9722d343218012002280332090a02697012033a3a3132110a027561120b4d6f7a69"
                + "6c6c612f352e300a070a057369642d32"
        )
    }

    @Test func healthResponse() throws {
        try expectEncoding(MessageSamples.healthResponse, "0801120572656469731a05312e302e30")
    }
}

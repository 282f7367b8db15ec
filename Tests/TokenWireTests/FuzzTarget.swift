import Testing
import TokenWire

/// What one randomized input did to a decoder.
enum FuzzOutcome: Equatable {
    /// The bytes were rejected with an error.
    case rejected
    /// The bytes parsed, and the value re-serialized and re-parsed to an equal value.
    case stable
    /// The bytes parsed, but the value did not survive re-serialization.
    case unstable(String)
}

/// One message type under randomized test: its valid serializations (to mutate) and its real decoder.
struct FuzzTarget: Sendable, CustomTestStringConvertible {
    /// The message type's name.
    let name: String
    /// Serializations of valid messages of the type.
    let samples: [[UInt8]]
    /// Runs the decoder on bytes and checks a successful result.
    let run: @Sendable ([UInt8]) -> FuzzOutcome

    var testDescription: String { name }

    init<Message: WireMessage & Equatable>(_ type: Message.Type, samples: [Message]) {
        self.name = String(describing: type)
        self.samples = samples.map { $0.serializedBytes() }
        self.run = { bytes in
            guard let first = try? Message(serializedBytes: bytes) else {
                return .rejected
            }
            let reserialized = first.serializedBytes()
            guard reserialized.count == first.serializedSize else {
                return .unstable("serializedSize \(first.serializedSize) but \(reserialized.count) bytes")
            }
            guard let second = try? Message(serializedBytes: reserialized) else {
                return .unstable("re-serialization of \(first) does not parse")
            }
            guard second == first else {
                return .unstable("\(first) re-parsed as \(second)")
            }
            return .stable
        }
    }

    /// Every message type of the contract, envelope included.
    static let all: [FuzzTarget] = [
        FuzzTarget(
            RpcRequest.self,
            samples: [RpcRequest(callID: 9, method: "/token.v1.TokenService/Issue", payload: [1, 2])]
        ),
        FuzzTarget(
            RpcResponse.self,
            samples: [RpcResponse(callID: 9, code: 5, message: "x", payload: [3], endOfStream: true)]
        ),
        FuzzTarget(IssueRequest.self, samples: [MessageSamples.issueRequest]),
        FuzzTarget(IssueResponse.self, samples: [MessageSamples.issueResponse]),
        FuzzTarget(RefreshRequest.self, samples: [MessageSamples.refreshRequest]),
        FuzzTarget(ValidateRequest.self, samples: [MessageSamples.validateRequest]),
        FuzzTarget(
            ValidateResponse.self,
            samples: [MessageSamples.validateResponse, MessageSamples.validateResponseUnknownReason]
        ),
        FuzzTarget(WireClaims.self, samples: [MessageSamples.claims]),
        FuzzTarget(RevokeRequest.self, samples: MessageSamples.revokeRequests),
        FuzzTarget(RevokeResponse.self, samples: [MessageSamples.revokeResponse]),
        FuzzTarget(GetKeysRequest.self, samples: [GetKeysRequest()]),
        FuzzTarget(WirePublicKey.self, samples: [MessageSamples.publicKey]),
        FuzzTarget(GetKeysResponse.self, samples: [MessageSamples.getKeysResponse]),
        FuzzTarget(RotateKeysRequest.self, samples: [RotateKeysRequest(), MessageSamples.rotateKeysRequest]),
        FuzzTarget(RotateKeysResponse.self, samples: [MessageSamples.rotateKeysResponse]),
        FuzzTarget(WatchRevocationsRequest.self, samples: [MessageSamples.watchRevocationsRequest]),
        FuzzTarget(WireRevocationEvent.self, samples: [MessageSamples.revocationEvent, MessageSamples.keyRingEvent]),
        FuzzTarget(RevocationBatch.self, samples: [MessageSamples.revocationBatch]),
        FuzzTarget(ListSessionsRequest.self, samples: [MessageSamples.listSessionsRequest]),
        FuzzTarget(WireSession.self, samples: [MessageSamples.session]),
        FuzzTarget(ListSessionsResponse.self, samples: [MessageSamples.listSessionsResponse]),
        FuzzTarget(HealthRequest.self, samples: [HealthRequest()]),
        FuzzTarget(HealthResponse.self, samples: [MessageSamples.healthResponse]),
    ]
}

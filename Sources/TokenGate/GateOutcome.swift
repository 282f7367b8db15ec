/// How the gate answered a request: the labels of its request metrics (`route`, `outcome`).
enum GateOutcome: Int, CaseIterable, Sendable {
    case authValid, authNoToken, authInvalid, authMalformed, authUnknown, authBadQuery
    case introspectActive, introspectInactive, introspectUnauthenticated, introspectBadRequest, introspectUnknown
    case healthReady, healthNotReady
    case metrics
    case notFound, methodNotAllowed

    /// The `route` label.
    var route: String {
        switch self {
        case .authValid, .authNoToken, .authInvalid, .authMalformed, .authUnknown, .authBadQuery: "auth"
        case .introspectActive, .introspectInactive, .introspectUnauthenticated, .introspectBadRequest,
            .introspectUnknown:
            "introspect"
        case .healthReady, .healthNotReady: "healthz"
        case .metrics: "metrics"
        case .notFound, .methodNotAllowed: "other"
        }
    }

    /// The `outcome` label.
    var outcome: String {
        switch self {
        case .authValid: "valid"
        case .authNoToken: "no_token"
        case .authInvalid: "invalid"
        case .authMalformed: "malformed"
        case .authUnknown, .introspectUnknown: "unknown"
        case .authBadQuery, .introspectBadRequest: "bad_request"
        case .introspectActive: "active"
        case .introspectInactive: "inactive"
        case .introspectUnauthenticated: "unauthenticated"
        case .healthReady: "ready"
        case .healthNotReady: "not_ready"
        case .metrics: "ok"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        }
    }
}

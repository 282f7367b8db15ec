/// What a `TokenValidator` does when its revocation mirror is stale and the service cannot be asked.
public enum StalenessPolicy: Sendable, Hashable {
    /// Refuse: the token's revocation state is unknown (`TokenValidation.Outcome.unknown`). The default.
    case failClosed
    /// Accept a token whose signature and claims are good. Each acceptance is counted, and the
    /// validator logs once per stale period that it is failing open.
    case failOpen
}

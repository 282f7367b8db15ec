/// Full names of the methods of `token.v1.TokenService`, as `RpcRequest.method` carries them.
public enum TokenServiceMethod {
    /// The service's full name.
    public static let service = "token.v1.TokenService"

    public static let issue = "/token.v1.TokenService/Issue"
    public static let validate = "/token.v1.TokenService/Validate"
    public static let refresh = "/token.v1.TokenService/Refresh"
    public static let revoke = "/token.v1.TokenService/Revoke"
    public static let getKeys = "/token.v1.TokenService/GetKeys"
    public static let watchRevocations = "/token.v1.TokenService/WatchRevocations"
    public static let listSessions = "/token.v1.TokenService/ListSessions"
    public static let rotateKeys = "/token.v1.TokenService/RotateKeys"
    public static let health = "/token.v1.TokenService/Health"
}

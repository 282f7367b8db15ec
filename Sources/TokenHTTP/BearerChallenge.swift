/// The value of a `WWW-Authenticate` header for the Bearer scheme (RFC 6750 §3).
public enum BearerChallenge {
    /// A challenge: `Bearer` alone when the request carried no credentials (RFC 6750 §3.1 says no
    /// error code then), else with the error code and its description.
    /// - Parameters:
    ///   - error: the error code, e.g. `invalid_token`; nil for none.
    ///   - description: the error's description; only the characters RFC 6750 allows in it (printable
    ///     ASCII but `"` and `\`) are kept.
    /// - Returns: the header's value.
    public static func header(error: String? = nil, description: String? = nil) -> String {
        guard let error else { return "Bearer" }
        guard let description else { return #"Bearer error="\#(error)""# }
        let allowed = description.unicodeScalars.filter { scalar in
            (0x20...0x7E).contains(scalar.value) && scalar != "\"" && scalar != "\\"
        }
        return #"Bearer error="\#(error)", error_description="\#(String(String.UnicodeScalarView(allowed)))""#
    }
}

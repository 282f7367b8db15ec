import CTokenProto

/// The generated C struct of one entry of a `map<string, string>` field.
protocol ProtobufCMapEntry {
    /// An entry set to its defaults by the generated `…__init` function.
    static func emptyCMessage() -> Self

    /// The entry's key (a NUL-terminated string).
    var key: UnsafeMutablePointer<CChar>! { get set }

    /// The entry's value (a NUL-terminated string).
    var value: UnsafeMutablePointer<CChar>! { get set }
}

extension Token__V1__IssueRequest__MetadataEntry: ProtobufCMapEntry {
    static func emptyCMessage() -> Self {
        var entry = Self()
        token__v1__issue_request__metadata_entry__init(&entry)
        return entry
    }
}

extension Token__V1__Session__MetadataEntry: ProtobufCMapEntry {
    static func emptyCMessage() -> Self {
        var entry = Self()
        token__v1__session__metadata_entry__init(&entry)
        return entry
    }
}

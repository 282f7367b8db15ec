/// A JSON object: members in their original order, names unique.
public struct JSONObject: Sendable, Hashable {
    /// One `"name": value` pair.
    public struct Member: Sendable, Hashable {
        /// The member name.
        public var name: String
        /// The member value.
        public var value: JSONValue

        /// Creates a member.
        public init(name: String, value: JSONValue) {
            self.name = name
            self.value = value
        }
    }

    /// The members, in order.
    public private(set) var members: [Member]

    /// Creates an object.
    /// - Parameter members: Members with unique names.
    /// - Throws: `TokenError.invalidJSON` when a name repeats.
    public init(members: [Member]) throws(TokenError) {
        var seen = Set<String>()
        for member in members where !seen.insert(member.name).inserted {
            throw .invalidJSON("duplicate member name")
        }
        self.members = members
    }

    /// Wraps members already checked for unique names.
    init(uniqueMembers: [Member]) {
        self.members = uniqueMembers
    }

    /// The member names, in order.
    public var names: [String] {
        members.map(\.name)
    }

    /// Whether the object has no members.
    public var isEmpty: Bool {
        members.isEmpty
    }

    /// The value of the member `name`, or nil.
    public subscript(name: String) -> JSONValue? {
        members.first { $0.name == name }?.value
    }

    /// The object as compact JSON text.
    public var jsonText: String {
        var out: [UInt8] = []
        append(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the compact JSON text of the object.
    func append(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        appendMembers(to: &out, leadingComma: false)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `"name":value` pairs separated by commas, with a comma first when asked (used to
    /// merge these members into another object).
    func appendMembers(to out: inout [UInt8], leadingComma: Bool) {
        for (index, member) in members.enumerated() {
            if index > 0 || leadingComma { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(member.name, to: &out)
            out.append(UInt8(ascii: ":"))
            member.value.append(to: &out)
        }
    }
}

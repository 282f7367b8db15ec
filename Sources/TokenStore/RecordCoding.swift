import TokenCore

/// The compact encoding of a session's lists and metadata in their columns: JSON, written and read
/// with the token engine's strict JSON.
package enum RecordCoding {
    /// `strings` as a JSON array.
    package static func encode(_ strings: [String]) -> String {
        JSONValue.arrayText(of: strings)
    }

    /// `map` as a JSON object, keys sorted.
    package static func encode(_ map: [String: String]) -> String {
        JSONValue.objectText(of: map)
    }

    /// The array stored as `text`.
    /// - Throws: `corrupt` when `text` is not a JSON array of strings.
    package static func decodeStrings(_ text: String, column: String) throws(TokenStoreError) -> [String] {
        guard case .array(let elements) = try? JSONValue(parsing: text) else {
            throw .corrupt("the stored \(column) is not a JSON array")
        }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for element in elements {
            guard let string = element.stringValue else {
                throw .corrupt("the stored \(column) holds a value that is not a string")
            }
            strings.append(string)
        }
        return strings
    }

    /// The map stored as `text`.
    /// - Throws: `corrupt` when `text` is not a JSON object of strings.
    package static func decodeMap(_ text: String, column: String) throws(TokenStoreError) -> [String: String] {
        guard case .object(let object) = try? JSONValue(parsing: text) else {
            throw .corrupt("the stored \(column) is not a JSON object")
        }
        var map: [String: String] = [:]
        for member in object.members {
            guard let string = member.value.stringValue else {
                throw .corrupt("the stored \(column) holds a value that is not a string")
            }
            map[member.name] = string
        }
        return map
    }
}

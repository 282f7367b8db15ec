/// A value bound to a statement parameter.
enum SQLiteValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null

    /// `.integer(value)`, or `.null` when `value` is nil.
    static func integer(_ value: Int64?) -> Self {
        guard let value else { return .null }
        return .integer(value)
    }
}

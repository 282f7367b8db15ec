import NIOCore

/// The deadlines of one connection's calls, earliest first (a binary min-heap).
///
/// One timer per connection fires at the earliest deadline, instead of one scheduled task per call
/// (whose cancellation costs a linear search of the event loop's timers). Entries of calls that
/// ended early stay until they come due or `prune` drops them in bulk.
struct DeadlineQueue {
    struct Entry {
        let deadline: NIODeadline
        let callID: UInt64
        let serial: UInt64
    }

    private var heap: [Entry] = []

    /// The number of entries, live or not.
    var count: Int { heap.count }

    /// The earliest deadline.
    var earliest: NIODeadline? { heap.first?.deadline }

    /// Adds an entry.
    mutating func push(_ entry: Entry) {
        heap.append(entry)
        siftUp(heap.count - 1)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(now: NIODeadline) -> Entry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return first
    }

    /// Keeps only the entries for which `isLive` holds.
    mutating func prune(keeping isLive: (Entry) -> Bool) {
        heap.removeAll { !isLive($0) }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) {
            siftDown(index)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

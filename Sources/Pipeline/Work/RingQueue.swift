/// A FIFO queue with amortised O(1) append and popFirst, for lane queues and the ready queue. A popped
/// slot is cleared at once, so what the element holds (a record's bytes) is freed then, not at the next
/// compaction.
struct RingQueue<Element>: Sendable where Element: Sendable {
    private var storage: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func append(_ element: Element) {
        storage.append(element)
    }

    mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = storage[head].take()
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 64)
            head = 0
        } else if head > 64, head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }

    /// Access relative to the front (0 = first).
    subscript(index: Int) -> Element {
        get { storage[head + index]! }
        set { storage[head + index] = newValue }
    }
}

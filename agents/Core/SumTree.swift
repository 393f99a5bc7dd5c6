/// A binary tree whose internal nodes hold the sums of their children's priorities, for
/// sampling proportionally to priority in O(log n).
struct SumTree {
    private var nodes: [Double]
    private let leaves: Int

    init(capacity: Int) {
        var size = 1
        while size < capacity { size *= 2 }
        leaves = size
        nodes = [Double](repeating: 0, count: 2 * size)
    }

    var total: Double { nodes[1] }

    subscript(slot: Int) -> Double { nodes[leaves + slot] }

    mutating func update(_ slot: Int, priority: Double) {
        var i = leaves + slot
        nodes[i] = priority
        i /= 2
        while i >= 1 {
            nodes[i] = nodes[2 * i] + nodes[2 * i + 1]
            i /= 2
        }
    }

    /// The leaf where the running sum of priorities first exceeds `prefix`.
    func find(prefix: Double) -> Int {
        var value = min(prefix, total * (1 - 1e-12))
        var i = 1
        while i < leaves {
            if value < nodes[2 * i] {
                i = 2 * i
            } else {
                value -= nodes[2 * i]
                i = 2 * i + 1
            }
        }
        return i - leaves
    }
}

import Cortex
import Foundation
import XCTest

/// `DataParallel.averageGradients` in one process, against a communicator that plays `size`
/// ranks holding the same buffer (its sum multiplies by `size`), so the expected result is
/// written out by hand: gradient · local / global · size. Covers the weighted copy into the
/// fusion buffer and, on a second call, the in-place scaling of gradients that already are
/// bucket views; lengths that are and are not multiples of a vector, several buckets, a
/// parameter without a gradient, and the extras. The MPI runs (Tests/CommandTests) check the
/// same against real ranks.
final class DataParallelAverageTests: XCTestCase {
    private final class Mirror: Communicator {
        let size: Int
        var calls = 0
        init(size: Int) { self.size = size }
        var rank: Int { 0 }
        func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
            calls += 1
            for i in buffer.indices { buffer[i] *= Float(size) }
        }
        func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
            for i in buffer.indices { buffer[i] *= Double(size) }
        }
        func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
        func barrier() throws {}
    }

    private func parameters() -> [NamedTensor] {
        [("a", Tensor.zeros([3, 7])), ("b", Tensor.zeros([5])), ("c", Tensor.zeros([16])), ("d", Tensor.zeros([2, 2]))]
    }

    /// Gradient element i of parameter p: (i − 3 + p) / 4, exact in binary.
    private func value(_ p: Int, _ i: Int) -> Float { Float(i - 3 + p) / 4 }

    private func fill(_ parameters: [NamedTensor], skipping: Int? = nil) {
        for (p, (_, tensor)) in parameters.enumerated() where p != skipping {
            tensor.grad = Tensor(shape: tensor.shape, data: (0..<tensor.count).map { value(p, $0) })
        }
    }

    func testWeightedCopyThenInPlaceScaling() throws {
        let params = parameters()
        let mirror = Mirror(size: 4)
        // Capacity 24: a (21 floats) alone, b + c (5 + 16 = 21), d (4) alone.
        let parallel = DataParallel(parameters: params, communicator: mirror, bucketCapacity: 24)
        XCTAssertEqual(parallel.buckets, [[0], [1, 2], [3]])
        fill(params, skipping: 3)
        // This rank had 3 of a global batch of 12 rows: weight 1/4; four identical ranks sum to ×1.
        let extras = try parallel.averageGradients(localCount: 3, globalCount: 12, extras: [2.5, 1])
        XCTAssertEqual(mirror.calls, 3)
        XCTAssertEqual(extras, [10, 4])
        for (p, (_, tensor)) in params.enumerated() {
            if p == 3 {
                XCTAssertNil(tensor.grad, "no rank had a gradient for d")
                continue
            }
            XCTAssertEqual(tensor.grad!.scalars, (0..<tensor.count).map { value(p, $0) }, "parameter \(p)")
        }
        // The gradients are now views of the fusion buffer; a second average scales them in
        // place: weight 3/4 and 4 ranks give ×3.
        try parallel.averageGradients(localCount: 9, globalCount: 12)
        for (p, (_, tensor)) in params.enumerated() where p != 3 {
            XCTAssertEqual(tensor.grad!.scalars, (0..<tensor.count).map { 3 * value(p, $0) }, "parameter \(p), in place")
        }
    }

    func testRankWithoutRowsContributesZeros() throws {
        let params = parameters()
        let parallel = DataParallel(parameters: params, communicator: Mirror(size: 2))
        fill(params)
        try parallel.averageGradients(localCount: 0, globalCount: 5)
        for (_, tensor) in params { XCTAssertEqual(tensor.grad!.scalars, [Float](repeating: 0, count: tensor.count)) }
    }
}

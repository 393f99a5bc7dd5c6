import Cortex
import CortexTestSupport
import Foundation
import XCTest

/// End-to-end: a two-layer MLP built from the ops learns XOR with plain SGD, and the
/// graph of each step is released (memory stays flat).
final class TrainingTests: XCTestCase {
    private struct MLP {
        var w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor
        var parameters: [Tensor] { [w1, b1, w2, b2] }

        init(hidden: Int, seed: UInt64) {
            var g = RandomGenerator(seed: seed)
            w1 = Initializer.xavierUniform([2, hidden], using: &g)
            b1 = Tensor.zeros([hidden], requiresGrad: true)
            w2 = Initializer.xavierUniform([hidden, 1], using: &g)
            b2 = Tensor.zeros([1], requiresGrad: true)
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            ((x.matmul(w1) + b1).tanh().matmul(w2) + b2).sigmoid()   // (N, 1)
        }

        /// One SGD step on mean squared error; returns the loss.
        func step(_ x: Tensor, _ y: Tensor, learningRate: Float) -> Float {
            let diff = self(x) - y
            let loss = (diff * diff).mean()
            loss.backward()
            withNoGrad {
                for p in parameters {
                    let value = p.storage.pointer, grad = p.grad!.storage.pointer
                    for i in 0..<p.count { value[i] -= learningRate * grad[i] }
                    p.zeroGrad()
                }
            }
            return loss.item
        }
    }

    private let inputs = Tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    private let targets = Tensor(shape: [4, 1], data: [0, 1, 1, 0])

    func testMLPSolvesXOR() {
        let model = MLP(hidden: 8, seed: 1)
        var loss: Float = 1
        for _ in 0..<2000 { loss = model.step(inputs, targets, learningRate: 2) }
        let predictions = withNoGrad { model(inputs) }.scalars
        XCTAssertLessThan(loss, 0.01)
        XCTAssertEqual(predictions.map { $0 > 0.5 ? 1 : 0 }, [0, 1, 1, 0], "predictions \(predictions)")
    }

    /// Resident set size in pages (Linux).
    private func residentPages() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? Int(fields[1]) : nil
    }

    func testGraphIsReleasedAcrossTenThousandSteps() throws {
        let model = MLP(hidden: 16, seed: 2)
        weak var firstIntermediate: Tensor?
        do {
            let hidden = (inputs.matmul(model.w1) + model.b1).relu()
            firstIntermediate = hidden
            let loss = (hidden.matmul(model.w2) + model.b2 - targets).pow(2).mean()
            loss.backward()
            for p in model.parameters { p.zeroGrad() }
        }
        XCTAssertNil(firstIntermediate, "an intermediate of step 1 outlived its step")
        // Also without backward: a graph that is built and dropped must free itself.
        weak var unused: Tensor?
        do { unused = (inputs.matmul(model.w1) + model.b1).sigmoid() }
        XCTAssertNil(unused)

        for _ in 0..<1000 { _ = model.step(inputs, targets, learningRate: 0.1) }
        let before = try XCTUnwrap(residentPages())
        for _ in 0..<10_000 { _ = model.step(inputs, targets, learningRate: 0.1) }
        let after = try XCTUnwrap(residentPages())
        // A leaked step graph is ~20 small tensors (> 2 KB): 10,000 of them would add > 20 MB.
        XCTAssertLessThan(after - before, 1024, "resident pages grew from \(before) to \(after)")
    }
}

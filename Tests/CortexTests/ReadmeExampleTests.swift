import Cortex
import Foundation
import XCTest

/// The README's library example, line for line: if it stops compiling or learning, this fails.
final class ReadmeExampleTests: XCTestCase {
    func testReadmeExampleLearnsXORAndSavesACheckpoint() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("readme-xor-\(getpid()).safetensors")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // --- README begins
        var generator = RandomGenerator(seed: 0)
        let x = Tensor(shape: [4, 2], data: [0, 0, 0, 1, 1, 0, 1, 1])
        let y = Tensor(shape: [4, 1], data: [0, 1, 1, 0])  // XOR
        let model = Sequential(
            Linear(inputFeatures: 2, outputFeatures: 8, generator: &generator), Tanh(),
            Linear(inputFeatures: 8, outputFeatures: 1, generator: &generator))
        let optimizer = Adam(model.parameterGroups(), learningRate: 0.05)
        for step in 1...300 {
            let loss = binaryCrossEntropyWithLogits(model(x), y)
            optimizer.zeroGrad()
            loss.backward()  // reverse-mode autodiff
            optimizer.step()
            if step % 100 == 0 { print("step \(step): loss \(loss.item)") }
        }
        let p = withNoGrad { model(x).sigmoid() }.scalars
        print(p.map { ($0 * 100).rounded() / 100 })  // ≈ [0, 1, 1, 0]
        try Checkpoint.save(model, optimizer: optimizer, to: path)  // opens in Python's safetensors
        // --- README ends
        XCTAssertEqual(p.map { $0 > 0.5 }, [false, true, true, false])
        var other = RandomGenerator(seed: 9)
        let copy = Sequential(
            Linear(inputFeatures: 2, outputFeatures: 8, generator: &other), Tanh(),
            Linear(inputFeatures: 8, outputFeatures: 1, generator: &other))
        try Checkpoint.load(into: copy, from: path)
        XCTAssertEqual(withNoGrad { copy(x).sigmoid() }.scalars, p)
    }
}

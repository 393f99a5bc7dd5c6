import Cortex
import CortexTestSupport
import XCTest

/// A unary layer with one weight and an optional shared tensor, forward = identity (the walk
/// is what is under test here, not arithmetic).
private final class Probe: UnaryLayer {
    var isTraining = true
    let weight: Tensor
    let extra: Tensor?
    init(_ count: Int, extra: Tensor? = nil) {
        weight = Tensor.zeros([count, 2], requiresGrad: true)
        self.extra = extra
    }
    var localParameters: [NamedTensor] { [("weight", weight)] + (extra.map { [("tied", $0)] } ?? []) }
    var localBuffers: [NamedTensor] { [("num_batches_tracked", Tensor(scalar: 0))] }
    func callAsFunction(_ x: Tensor) -> Tensor { x }
}

private final class Block: Module {
    var isTraining = true
    let attn = Probe(3)
    let mlp = Sequential(Probe(1), Probe(2))
    var children: [(name: String, module: any Module)] { [("attn", attn), ("mlp", mlp)] }
}

private final class Model: Module {
    var isTraining = true
    let embedding = Probe(4)
    let blocks = ModuleList([Block(), Block()])
    lazy var head = Probe(5, extra: embedding.weight)  // tied to the embedding's weight
    var children: [(name: String, module: any Module)] {
        [("embedding", embedding), ("blocks", blocks), ("head", head)]
    }
}

final class ModuleTests: XCTestCase {
    func testDottedNamesFollowTheTree() {
        let model = Model()
        XCTAssertEqual(
            model.namedParameters().map(\.name),
            [
                "embedding.weight",
                "blocks.0.attn.weight", "blocks.0.mlp.0.weight", "blocks.0.mlp.1.weight",
                "blocks.1.attn.weight", "blocks.1.mlp.0.weight", "blocks.1.mlp.1.weight",
                "head.weight"
            ])  // head.tied is the embedding's tensor: listed once
        XCTAssertEqual(model.parameterCount, 2 * (4 + 2 * (3 + 1 + 2) + 5))
        // The state dict keeps every name (PyTorch does too), parameters then buffers per module.
        let keys = model.stateDict().map(\.name)
        XCTAssertEqual(keys.prefix(3), ["embedding.weight", "embedding.num_batches_tracked", "blocks.0.attn.weight"])
        XCTAssertTrue(keys.contains("head.tied"))
        XCTAssertEqual(keys.count, 9 + 8)
        XCTAssertEqual(model.namedModules().map(\.name).prefix(4), ["", "embedding", "blocks", "blocks.0"])
    }

    func testTrainEvalPropagates() {
        let model = Model()
        model.eval()
        XCTAssertTrue(model.namedModules().allSatisfy { !$0.module.isTraining })
        XCTAssertEqual(model.blocks.count, 2)
        for block in model.blocks { XCTAssertFalse(block.isTraining) }
        model.blocks[1].train()
        XCTAssertTrue(model.blocks[1].mlp.layers[0].isTraining)
        XCTAssertFalse(model.blocks[0].mlp.layers[0].isTraining)
        model.train()
        XCTAssertTrue(model.namedModules().allSatisfy { $0.module.isTraining })
    }

    func testZeroGradClearsEveryParameter() {
        let model = Model()
        for p in model.parameters() { p.grad = Tensor.ones(p.shape) }
        model.zeroGrad()
        XCTAssertTrue(model.parameters().allSatisfy { $0.grad == nil })
    }

    func testLoadStateDictCopiesInPlaceAndKeepsTying() throws {
        let model = Model()
        let embedding = model.embedding.weight
        var state: [String: Tensor] = [:]
        for (name, tensor) in model.stateDict() { state[name] = Tensor.full(tensor.shape, 3) }
        try model.loadStateDict(state)
        XCTAssertTrue(model.embedding.weight === embedding)  // same object, new values
        XCTAssertEqual(embedding.scalars, [Float](repeating: 3, count: 8))
        XCTAssertTrue(model.head.extra === embedding)
    }

    func testSequentialAppliesLayersInOrder() {
        final class AddOne: UnaryLayer {
            var isTraining = true
            func callAsFunction(_ x: Tensor) -> Tensor { Tensor(x.scalars.map { $0 + 1 }) }
        }
        final class Double: UnaryLayer {
            var isTraining = true
            func callAsFunction(_ x: Tensor) -> Tensor { Tensor(x.scalars.map { $0 * 2 }) }
        }
        XCTAssertEqual(Sequential(AddOne(), Double())(Tensor([1, 2])).scalars, [4, 6])
        XCTAssertEqual(Sequential(Double(), AddOne())(Tensor([1, 2])).scalars, [3, 5])
    }
}

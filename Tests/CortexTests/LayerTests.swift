import Cortex
import CortexTestSupport
import Foundation
import XCTest

final class LayerTests: XCTestCase {
    private var generator = RandomGenerator(seed: 2024)

    private func input(_ shape: [Int]) -> Tensor { Tensor.randn(shape, using: &generator, requiresGrad: true) }

    /// Gradient check of a layer with respect to its input and every parameter.
    private func checkLayer(
        _ layer: any UnaryLayer, input x: Tensor, tolerance: Float = 1e-2,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        checkGradients([x] + layer.parameters(), tolerance: tolerance, file: file, line: line) { layer($0[0]) }
    }

    // MARK: gradient checks

    func testLinearGradientsAndShapes() {
        let layer = Linear(inputFeatures: 4, outputFeatures: 3, generator: &generator)
        XCTAssertEqual(layer.stateDict().map(\.name), ["weight", "bias"])
        XCTAssertEqual(layer(input([5, 4])).shape, [5, 3])
        XCTAssertEqual(layer(input([2, 5, 4])).shape, [2, 5, 3])
        checkLayer(layer, input: input([5, 4]))
        let noBias = Linear(inputFeatures: 4, outputFeatures: 2, bias: false, generator: &generator)
        XCTAssertNil(noBias.bias)
        checkLayer(noBias, input: input([3, 4]))
    }

    func testConvolutionAndPoolingGradients() {
        let conv = Conv2d(
            inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 2, padding: 1, generator: &generator)
        XCTAssertEqual(conv.weight.shape, [3, 2, 3, 3])
        XCTAssertEqual(conv(input([2, 2, 5, 5])).shape, [2, 3, 3, 3])
        checkLayer(conv, input: input([2, 2, 5, 5]))
        // Max pooling: distinct values 0.1 apart, so a ±0.01 step never changes a window's maximum.
        var order = Array(0..<64)
        order.shuffle(using: &generator)
        checkLayer(
            MaxPool2d(kernelSize: 2),
            input: Tensor(shape: [2, 2, 4, 4], data: order.map { Float($0) * 0.1 }, requiresGrad: true))
        checkLayer(AvgPool2d(kernelSize: 3, stride: 2, padding: 1), input: input([1, 2, 5, 5]))
        XCTAssertEqual(MaxPool2d(kernelSize: 2)(input([1, 1, 5, 4])).shape, [1, 1, 2, 2])
    }

    func testFlattenAndActivationGradients() {
        XCTAssertEqual(Flatten()(input([2, 3, 4, 5])).shape, [2, 60])
        XCTAssertEqual(Flatten(startAxis: 0, endAxis: 1)(input([2, 3, 4])).shape, [6, 4])
        checkLayer(Flatten(), input: input([2, 3, 2]))
        // Shift inputs away from the kinks of ReLU/LeakyReLU at 0 so finite differences hold.
        let away = Tensor(input([4, 5]).scalars.map { $0 + ($0 >= 0 ? 0.1 : -0.1) }, requiresGrad: true)
        for layer: any UnaryLayer in [
            ReLU(), LeakyReLU(negativeSlope: 0.2), GELU(), GELU(approximate: true), Tanh(), Sigmoid()
        ] {
            checkLayer(layer, input: away)
        }
        assertClose(ReLU()(Tensor([-1, 2])).scalars, [0, 2])
        assertClose(LeakyReLU()(Tensor([-1, 2])).scalars, [-0.01, 2])
        // GELU(1) = Φ(1) = 0.8413447; tanh form 0.8411920.
        assertClose(GELU()(Tensor([1])).scalars, [0.8413447])
        assertClose(GELU(approximate: true)(Tensor([1])).scalars, [0.8411920])
    }

    func testEmbeddingGradientAndLookup() {
        let table = Embedding(count: 5, dimension: 3, generator: &generator)
        let rows = table([4, 0, 4], shape: [3])
        XCTAssertEqual(rows.shape, [3, 3])
        XCTAssertEqual(Array(rows.scalars[0..<3]), Array(table.weight.scalars[12..<15]))
        XCTAssertEqual(table(Tensor(shape: [1, 2], data: [1, 2])).shape, [1, 2, 3])
        checkGradients([table.weight]) { _ in table([1, 3, 1, 0], shape: [2, 2]) }
    }

    func testSequentialResidualAndBasicBlockGradients() {
        let mlp = Sequential(
            Linear(inputFeatures: 3, outputFeatures: 4, generator: &generator), Tanh(),
            Linear(inputFeatures: 4, outputFeatures: 2, generator: &generator))
        XCTAssertEqual(mlp.stateDict().map(\.name), ["0.weight", "0.bias", "2.weight", "2.bias"])
        checkLayer(mlp, input: input([5, 3]))
        let residual = Residual(Sequential(Linear(inputFeatures: 3, outputFeatures: 3, generator: &generator), Tanh()))
        XCTAssertEqual(residual.namedParameters().map(\.name), ["body.0.weight", "body.0.bias"])
        checkLayer(residual, input: input([2, 3]))

        let block = BasicBlock(inputChannels: 2, outputChannels: 3, stride: 2, generator: &generator)
        XCTAssertEqual(
            block.stateDict().map(\.name),
            [
                "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                "bn1.num_batches_tracked",
                "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var",
                "bn2.num_batches_tracked",
                "downsample.0.weight", "downsample.1.weight", "downsample.1.bias", "downsample.1.running_mean",
                "downsample.1.running_var", "downsample.1.num_batches_tracked"
            ])
        XCTAssertEqual(block(input([2, 2, 4, 4])).shape, [2, 3, 2, 2])
        block.eval()  // running statistics: a smooth function of the input (ReLU kinks aside)
        checkLayer(block, input: input([2, 2, 4, 4]), tolerance: 2e-2)
    }

    func testDropoutGradientWithAFixedMask() {
        let drop = Dropout(probability: 0.3, generator: &generator)
        checkGradients([input([4, 6])]) { x in
            drop.generator = RandomGenerator(seed: 77)  // the same mask for every evaluation
            return drop(x[0])
        }
    }

    // MARK: initialisation

    func testPyTorchDefaultInitialisationBounds() {
        // U(±1/√fanIn): fanIn 100 → bound 0.1 for Linear; 3·5·5 = 75 → 0.11547 for Conv2d.
        let linear = Linear(inputFeatures: 100, outputFeatures: 200, generator: &generator)
        let w = linear.weight.scalars, b = linear.bias!.scalars
        XCTAssertLessThanOrEqual(w.map(abs).max()!, 0.1)
        XCTAssertGreaterThan(w.map(abs).max()!, 0.099)
        XCTAssertLessThanOrEqual(b.map(abs).max()!, 0.1)
        // Uniform on ±0.1 has variance 0.1²/3 = 0.003333.
        let variance = w.map { $0 * $0 }.reduce(0, +) / Float(w.count)
        XCTAssertEqual(variance, 0.01 / 3, accuracy: 0.0002)
        let conv = Conv2d(inputChannels: 3, outputChannels: 8, kernelSize: 5, generator: &generator)
        XCTAssertLessThanOrEqual(conv.weight.scalars.map(abs).max()!, 1 / Float(75).squareRoot())
        XCTAssertGreaterThan(conv.weight.scalars.map(abs).max()!, 0.95 / Float(75).squareRoot())
        // Embedding: N(0, 1).
        let table = Embedding(count: 100, dimension: 50, generator: &generator).weight.scalars
        XCTAssertEqual(table.map { $0 * $0 }.reduce(0, +) / Float(table.count), 1, accuracy: 0.05)
        // Another rule on request.
        let zeros = Linear(
            inputFeatures: 3, outputFeatures: 2, weightInit: .constant(0), biasInit: .constant(0.5),
            generator: &generator)
        XCTAssertEqual(zeros.weight.scalars, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(zeros.bias!.scalars, [0.5, 0.5])
        XCTAssertTrue(zeros.weight.requiresGrad)
        let xavier = Linear(
            inputFeatures: 30, outputFeatures: 10, weightInit: .xavierUniform(gain: 1), generator: &generator)
        XCTAssertLessThanOrEqual(xavier.weight.scalars.map(abs).max()!, (6 / Float(40)).squareRoot())
    }

    // MARK: train and eval

    func testDropoutDiffersBetweenTrainAndEval() {
        let drop = Dropout(probability: 0.25, generator: &generator)
        let x = Tensor.ones([4000])
        let train = drop(x).scalars
        // Survivors are scaled by 1/(1 − 0.25); about a quarter are zero.
        XCTAssertTrue(train.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3) < 1e-6 })
        let dropped = Float(train.filter { $0 == 0 }.count) / 4000
        XCTAssertEqual(dropped, 0.25, accuracy: 0.03)
        drop.eval()
        XCTAssertEqual(drop(x).scalars, x.scalars)
        let model = Sequential(Linear(inputFeatures: 2, outputFeatures: 2, generator: &generator), drop)
        model.train()
        XCTAssertTrue(drop.isTraining)
    }
}

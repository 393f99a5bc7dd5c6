import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import XCTest

final class VisionModelTests: XCTestCase {
    override func setUp() { Runtime.configure(threads: 1) }

    // MARK: sizes

    func testLeNetShapesAndParameterCount() {
        var generator = RandomGenerator(seed: 0)
        let lenet = LeNet5(generator: &generator)
        // conv1 6·1·25 + 6, conv2 16·6·25 + 16, fc1 400·120 + 120, fc2 120·84 + 84, fc3 84·10 + 10
        XCTAssertEqual(lenet.parameterCount, 156 + 2_416 + 48_120 + 10_164 + 850)
        XCTAssertEqual(
            lenet.namedParameters().map(\.name),
            [
                "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
                "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"
            ])
        XCTAssertEqual(withNoGrad { lenet(Tensor.zeros([3, 1, 28, 28])) }.shape, [3, 10])
    }

    func testResNetKeysParameterCountAndEvalMode() {
        var generator = RandomGenerator(seed: 0)
        let resnet = ResNet(ResNetConfig(classes: 3, widths: [4, 8], blocks: [1, 1]), generator: &generator)
        // conv1 4·9; bn1 2·4; layer1.0: two 4·4·9 convs + two BatchNorms 2·4;
        // layer2.0: 8·4·9 + 8·8·9 convs, two BatchNorms 2·8, downsample 8·4 + BatchNorm 2·8; fc 8·3 + 3.
        XCTAssertEqual(resnet.parameterCount, 36 + 8 + (2 * 144 + 16) + (288 + 576 + 32 + 3 * 16) + 27)
        let keys = resnet.stateDict().map(\.name)
        for key in [
            "conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer1.0.bn2.num_batches_tracked",
            "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var", "fc.weight", "fc.bias"
        ] {
            XCTAssertTrue(keys.contains(key), key)
        }
        XCTAssertFalse(keys.contains("layer1.0.downsample.0.weight"), "same shape: identity shortcut")
        let x = Tensor.randn([4, 1, 28, 28], using: &generator)
        XCTAssertEqual(resnet(x).shape, [4, 3])
        // Evaluation mode uses the running statistics: one image alone gives the same logits as in a batch.
        resnet.eval()
        let batch = withNoGrad { resnet(x) }
        let single = withNoGrad { resnet(x.slice(axis: 0, start: 1, end: 2)) }
        assertClose(single.scalars, Array(batch.scalars[3..<6]), accuracy: 1e-5)
        XCTAssertEqual(ImageModelKind.resnet.headName, "fc")
    }

    func testViTParameterCountAndKeys() {
        var generator = RandomGenerator(seed: 0)
        let vit = VisionTransformer(generator: &generator)
        // patch 16·64 + 64, cls 64, pos 50·64; per block: 2 norms 4·64, qkv 64·192 + 192,
        // proj 64·64 + 64, fc1 64·128 + 128, fc2 128·64 + 64; final norm 128, head 64·10 + 10.
        let block = 4 * 64 + (64 * 192 + 192) + (64 * 64 + 64) + (64 * 128 + 128) + (128 * 64 + 64)
        XCTAssertEqual(vit.parameterCount, 1_088 + 64 + 3_200 + 4 * block + 128 + 650)
        XCTAssertEqual(vit.parameterCount, 139_018)  // the PyTorch model: "ViT 139k parameters"
        let names = Set(vit.namedParameters().map(\.name))
        for key in [
            "cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.3.attn.qkv.weight", "blocks.0.norm1.bias",
            "blocks.2.mlp.fc2.weight", "norm.weight", "head.bias"
        ] {
            XCTAssertTrue(names.contains(key), key)
        }
        XCTAssertEqual(withNoGrad { vit(Tensor.zeros([2, 1, 28, 28])) }.shape, [2, 10])
        XCTAssertEqual(ViTConfig(patchSize: 5).problem, "patch size 5 does not divide image size 28")
        XCTAssertEqual(ViTConfig(heads: 3).problem, "3 heads do not divide dimension 64")
    }

    // MARK: patch embedding

    /// With the projection set to copy pixel (i, j) of a patch into feature 4i + j, a single lit
    /// pixel (r, c) must appear only in token ⌊r/4⌋·7 + ⌊c/4⌋ (+1 after the class token), feature
    /// 4·(r mod 4) + (c mod 4).
    func testPatchEmbeddingPutsAPixelInItsPatchAndPosition() {
        var generator = RandomGenerator(seed: 1)
        let config = ViTConfig(dimension: 16, depth: 1, heads: 2, mlpDimension: 16)
        let vit = VisionTransformer(config, generator: &generator)
        let w = vit.patchEmbed.proj.weight.storage.pointer
        for o in 0..<16 { for p in 0..<16 { w[o * 16 + p] = o == p ? 1 : 0 } }
        vit.patchEmbed.proj.bias!.storage.pointer.update(repeating: 0, count: 16)
        vit.classToken.storage.pointer.update(repeating: 0, count: 16)
        vit.positionEmbedding.storage.pointer.update(repeating: 0, count: 50 * 16)
        vit.eval()
        for (r, c) in [(0, 0), (0, 27), (5, 9), (13, 2), (27, 27), (20, 14)] {
            let image = Tensor.zeros([1, 1, 28, 28])
            image[0, 0, r, c] = 1
            let tokens = withNoGrad { vit.patchEmbed(image) }
            XCTAssertEqual(tokens.shape, [1, 49, 16])
            let patch = (r / 4) * 7 + c / 4, feature = (r % 4) * 4 + c % 4
            for t in 0..<49 {
                for f in 0..<16 {
                    XCTAssertEqual(
                        tokens[0, t, f], t == patch && f == feature ? 1 : 0,
                        "pixel (\(r), \(c)) token \(t) feature \(f)")
                }
            }
            let embedded = withNoGrad { vit.embed(image) }
            XCTAssertEqual(embedded.shape, [1, 50, 16])
            XCTAssertEqual(embedded[0, patch + 1, feature], 1, "the class token comes first")
            XCTAssertEqual(embedded.scalars.reduce(0, +), 1)
        }
    }

    // MARK: gradients

    func testClassTokenPathGetsGradient() {
        var generator = RandomGenerator(seed: 2)
        let vit = VisionTransformer(
            ViTConfig(dimension: 16, depth: 2, heads: 2, mlpDimension: 32), generator: &generator)
        let images = Tensor.randn([4, 1, 28, 28], using: &generator)
        crossEntropy(logits: vit(images), targets: [0, 1, 2, 3]).backward()
        let cls = vit.classToken.grad!.scalars
        XCTAssertTrue(cls.contains { abs($0) > 1e-6 }, "class token got no gradient")
        // Position 0 (the class token's) and a patch position both learn.
        let pos = vit.positionEmbedding.grad!
        XCTAssertTrue((0..<16).contains { abs(pos[0, 0, $0]) > 1e-6 })
        XCTAssertTrue((0..<16).contains { abs(pos[0, 10, $0]) > 1e-6 })
        for (name, p) in vit.namedParameters() {
            XCTAssertNotNil(p.grad, "\(name) got no gradient")
        }
    }

    /// End-to-end finite differences through a small ViT (patch conv, concat with the class
    /// token, positions, a Transformer block, final norm on token 0, head).
    func testViTGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 3)
        let vit = VisionTransformer(
            ViTConfig(
                imageSize: 8, patchSize: 4, dimension: 8, depth: 1, heads: 2,
                mlpDimension: 16, classes: 3), generator: &generator)
        let x = Tensor.randn([2, 1, 8, 8], using: &generator)
        x.requiresGrad = true
        // A small step: the class token and positions start at N(0, 0.02²), and a step of 1e-2
        // reaches into the curvature of the final LayerNorm (measured error 4 % there, 0.05 % at 1e-3).
        checkGradients(
            [x, vit.classToken, vit.positionEmbedding, vit.patchEmbed.proj.weight, vit.head.weight],
            step: 1e-3, tolerance: 1e-2
        ) { _ in vit(x) }
    }

    func testLeNetGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 4)
        // 12×12 images: 12 → conv 12 → pool 6 → conv 2 → pool 1, so fc1 sees 16 features.
        let lenet = LeNet5(LeNetConfig(channels: 1, imageSize: 12, classes: 3), generator: &generator)
        let x = Tensor.randn([2, 1, 12, 12], using: &generator)
        x.requiresGrad = true
        checkGradients(
            [x, lenet.conv1.weight, lenet.conv2.weight, lenet.fc1.weight, lenet.fc3.bias!],
            step: 1e-3, tolerance: 2e-2
        ) { _ in lenet(x) }
    }

    func testResNetGradientsMatchFiniteDifferencesInTrainingMode() {
        var generator = RandomGenerator(seed: 8)
        let resnet = ResNet(ResNetConfig(imageSize: 8, classes: 3, widths: [2, 4], blocks: [1, 1]), generator: &generator)
        let x = Tensor.randn([3, 1, 8, 8], using: &generator)
        x.requiresGrad = true
        let block = resnet.stages[1].layers[0] as! BasicBlock
        let downsample = block.downsample!.layers[0] as! Conv2d
        // A small step: BatchNorm puts many ReLU inputs near their kink, and a step of 1e-2 or
        // 1e-3 straddles some of them (errors of 10–40 % there, shrinking with the step).
        checkGradients(
            [x, resnet.conv1.weight, resnet.bn1.weight!, block.conv1.weight, block.bn2.bias!, downsample.weight,
             resnet.fc.weight],
            step: 1e-4, tolerance: 5e-2
        ) { _ in resnet(x) }
    }

    // MARK: attention rollout

    /// With one block the rollout is ½(mean_h A + I) (rows already sum to one), so the class
    /// token's map is ½·mean_h A[0, 1…N].
    func testAttentionRolloutOfOneBlock() {
        var generator = RandomGenerator(seed: 5)
        let vit = VisionTransformer(
            ViTConfig(dimension: 16, depth: 1, heads: 4, mlpDimension: 16), generator: &generator)
        let x = Tensor.randn([2, 1, 28, 28], using: &generator)
        let (logits, maps) = vit.attentionRollout(x)
        XCTAssertEqual(logits.shape, [2, 10])
        XCTAssertTrue(vit.isTraining, "rollout restores the training flag")
        vit.blocks[0].attn.storesAttentionWeights = true
        vit.eval()
        _ = withNoGrad { vit(x) }
        let weights = vit.blocks[0].attn.attentionWeights!  // (2, 4, 50, 50)
        for b in 0..<2 {
            XCTAssertEqual(maps[b].count, 49)
            var expected = [Float](repeating: 0, count: 49)
            for h in 0..<4 { for j in 1..<50 { expected[j - 1] += 0.5 * weights[b, h, 0, j] / 4 } }
            assertClose(maps[b], expected, accuracy: 1e-6)
            // The class token keeps ½ + ½·mean A[0, 0] for itself.
            XCTAssertLessThan(maps[b].reduce(0, +), 0.5 + 1e-5)
        }
    }

    // MARK: learning

    private func overfit(
        _ model: any UnaryLayer, images: Tensor, labels: [Int], learningRate: Float, maxSteps: Int
    ) -> (Double, Int) {
        let optimizer = AdamW(model.weightDecayGroups(weightDecay: 0), learningRate: learningRate)
        var accuracy = 0.0
        for step in 1...maxSteps {
            model.train()
            let loss = crossEntropy(logits: model(images), targets: labels)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            if step % 10 == 0 {
                model.eval()
                let predicted = withNoGrad { model(images) }.argmaxIndices(axis: 1)
                accuracy = Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
                if accuracy == 1 { return (accuracy, step) }
            }
        }
        return (accuracy, maxSteps)
    }

    func testLeNetOverfits64Images() throws {
        let data = try fashionMNISTSample(64)
        let loader = ImageLoader(
            dataset: data, batchSize: 64, shuffle: false, normalization: .computed(from: data), seed: 0)
        let batch = loader.batch(indices: Array(0..<64))
        var generator = RandomGenerator(seed: 0)
        let (accuracy, steps) = overfit(
            LeNet5(generator: &generator), images: batch.images, labels: batch.labels,
            learningRate: 3e-3, maxSteps: 300)
        XCTAssertEqual(accuracy, 1, "LeNet-5 reached \(accuracy) on 64 images after \(steps) steps")
    }

    func testViTOverfits64Images() throws {
        let data = try fashionMNISTSample(64)
        let loader = ImageLoader(
            dataset: data, batchSize: 64, shuffle: false, normalization: .computed(from: data), seed: 0)
        let batch = loader.batch(indices: Array(0..<64))
        var generator = RandomGenerator(seed: 0)
        // A narrower ViT than the default (dimension 32, 2 blocks) keeps the test to a few seconds.
        let vit = VisionTransformer(
            ViTConfig(dimension: 32, depth: 2, heads: 2, mlpDimension: 64), generator: &generator)
        let (accuracy, steps) = overfit(
            vit, images: batch.images, labels: batch.labels, learningRate: 3e-3, maxSteps: 300)
        XCTAssertEqual(accuracy, 1, "the ViT reached \(accuracy) on 64 images after \(steps) steps")
    }

    // MARK: checkpoints

    func testClassifierCheckpointRoundTrip() throws {
        let folder = try makeTemporaryDirectory(self)
        for kind in ImageModelKind.allCases {
            var generator = RandomGenerator(seed: 6)
            let classifier = ImageClassifier.make(
                kind: kind, vit: ViTConfig(dimension: 16, depth: 1, heads: 2, mlpDimension: 16),
                classNames: (0..<10).map { "c\($0)" }, mean: [0.3], std: [0.4],
                generator: &generator)
            let path = "\(folder)/\(kind.rawValue).safetensors"
            try classifier.save(to: path, extra: ["epoch": "3"])
            let (loaded, _, meta) = try ImageClassifier.load(path: path)
            XCTAssertEqual(loaded.kind, kind)
            XCTAssertEqual(loaded.classNames, classifier.classNames)
            XCTAssertEqual(loaded.mean, [0.3])
            XCTAssertEqual(meta["epoch"], "3")
            let x = Tensor.randn([3, 1, 28, 28], using: &generator)
            XCTAssertEqual(loaded.logits(x).scalars, classifier.logits(x).scalars)
        }
        // A checkpoint of something else says what it is not.
        var other = RandomGenerator(seed: 99)
        try Checkpoint.save(
            Linear(inputFeatures: 2, outputFeatures: 2, generator: &other), to: "\(folder)/other.safetensors")
        XCTAssertThrowsError(try ImageClassifier.load(path: "\(folder)/other.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("is not an image-classifier checkpoint"), "\(error)")
        }
    }
}

import Cortex
import CortexTestSupport
import Data
import Foundation
import Models
import Recipes
import XCTest

/// The attention captioner: attention weights, beam search against greedy decoding, the
/// attention module's gradient, overfitting a handful of scenes, BLEU against sacrebleu.
final class CaptionerTests: XCTestCase {
    /// A small captioner over 32×32 images (4×4 regions) and the grammar's vocabulary.
    func tinyCaptioner(seed: UInt64 = 3, imageSize: Int = 32) -> Captioner {
        var config = CaptionerNetworkConfig()
        config.imageSize = imageSize
        config.widths = [8, 8, 16, 16]
        config.convolutions = [1, 1, 1, 1]
        config.embeddingSize = 16
        config.hiddenSize = 32
        config.attentionSize = 16
        config.vocabularySize = CaptionVocabulary.grammar.count
        var random = RandomGenerator(seed: seed)
        return Captioner(config, generator: &random)
    }

    func randomImages(_ count: Int, side: Int, seed: UInt64) -> Tensor {
        var random = RandomGenerator(seed: seed)
        return Tensor.uniform([count, 1, side, side], low: 0, high: 1, using: &random)
    }

    func testEncoderStartsFromADetectorBackbone() throws {
        let folder = try makeTemporaryDirectory(self)
        var sizes = DetectorNetworkConfig()
        sizes.imageSize = 32
        sizes.widths = [8, 8, 16, 16]
        sizes.convolutions = [1, 1, 1, 1]
        var random = RandomGenerator(seed: 41)
        let detector = Detector(sizes, generator: &random)
        // BatchNorm statistics away from their defaults, so they are seen to travel too.
        for (name, tensor) in detector.backbone.stateDict() where name.hasSuffix("running_mean") {
            for i in 0..<tensor.count { tensor.storage.pointer[i] = Float(i) + 0.5 }
        }
        let path = folder + "/detector.safetensors"
        try Checkpoint.save(detector, metadata: ["model": "detector"], to: path)

        let captioner = tinyCaptioner()
        let before = captioner.encoder.stateDict().map(\.tensor.scalars)
        try CaptionerTrainer.loadEncoder(of: captioner, fromDetector: path)
        let loaded = Dictionary(uniqueKeysWithValues: captioner.encoder.stateDict())
        var changed = 0
        for (name, tensor) in detector.backbone.stateDict() {
            XCTAssertEqual(loaded[name]?.scalars, tensor.scalars, name)
        }
        for (old, (_, now)) in zip(before, captioner.encoder.stateDict()) where old != now.scalars { changed += 1 }
        XCTAssertGreaterThan(changed, 0)

        // A backbone of other widths, and a file without one: one clear error each.
        sizes.widths = [8, 8, 16, 32]
        let wider = Detector(sizes, generator: &random)
        try Checkpoint.save(wider, to: folder + "/wider.safetensors")
        XCTAssertThrowsError(try CaptionerTrainer.loadEncoder(of: captioner, fromDetector: folder + "/wider.safetensors")) {
            XCTAssertTrue("\($0)".contains("does not fit the captioner's encoder"), "\($0)")
        }
        try Checkpoint.save(captioner, to: folder + "/captioner.safetensors")
        XCTAssertThrowsError(try CaptionerTrainer.loadEncoder(of: captioner, fromDetector: folder + "/captioner.safetensors")) {
            XCTAssertTrue("\($0)".contains("no detector backbone"), "\($0)")
        }
        XCTAssertThrowsError(try CaptionerTrainer.loadEncoder(of: captioner, fromDetector: folder + "/missing.safetensors"))
    }

    func testAttentionWeightsOfEveryStepSumToOne() {
        let captioner = tinyCaptioner()
        let images = randomImages(3, side: 32, seed: 1)
        for decoded in captioner.greedy(images, maxLength: 6) + captioner.beamSearch(images, width: 2, maxLength: 6) {
            XCTAssertEqual(decoded.attention.count, decoded.tokens.count)
            for weights in decoded.attention {
                XCTAssertEqual(weights.count, 16)
                XCTAssertTrue(weights.allSatisfy { $0 >= 0 })
                XCTAssertEqual(weights.reduce(0, +), 1, accuracy: 1e-5)
            }
        }
        // Teacher forcing: [B, T, L], each row summing to 1.
        let (logits, weights, _) = captioner(images: images, inputs: [[1, 5, 6], [1, 7, 0], [1, 0, 0]])
        XCTAssertEqual(logits.shape, [3, 3, CaptionVocabulary.grammar.count])
        XCTAssertEqual(weights.shape, [3, 3, 16])
        for row in 0..<9 {
            XCTAssertEqual(weights.scalars[(row * 16)..<((row + 1) * 16)].reduce(0, +), 1, accuracy: 1e-5)
        }
    }

    func testBeamWidthOneIsGreedy() {
        let captioner = tinyCaptioner(seed: 5)
        let images = randomImages(4, side: 32, seed: 2)
        let greedy = captioner.greedy(images, maxLength: 12)
        let beam = captioner.beamSearch(images, width: 1, maxLength: 12)
        for (g, b) in zip(greedy, beam) {
            XCTAssertEqual(g.tokens, b.tokens)
            XCTAssertEqual(g.logProbability, b.logProbability, accuracy: 1e-4)
            XCTAssertEqual(g.attention.count, b.attention.count)
            for (x, y) in zip(g.attention, b.attention) { assertClose(x, y, accuracy: 1e-5) }
        }
        // A wider beam never finds a less probable caption of the same length than greedy's.
        let wide = captioner.beamSearch(images, width: 4, maxLength: 12)
        for (g, w) in zip(greedy, wide) where g.tokens.count == w.tokens.count {
            XCTAssertGreaterThanOrEqual(w.logProbability, g.logProbability - 1e-4)
        }
    }

    /// Context and weights of the additive attention against central finite differences, for
    /// the features, the hidden state and every weight of the module.
    func testAttentionGradientsMatchFiniteDifferences() {
        var random = RandomGenerator(seed: 11)
        let attention = SoftAttention(featureSize: 3, hiddenSize: 4, attentionSize: 5, generator: &random)
        let features = Tensor.uniform([2, 6, 3], low: -1, high: 1, using: &random)
        let hidden = Tensor.uniform([2, 4], low: -1, high: 1, using: &random)
        features.requiresGrad = true
        hidden.requiresGrad = true
        let parameters = attention.parameters()
        checkGradients([features, hidden] + parameters, step: 1e-2, tolerance: 1e-2) { inputs in
            let (context, weights) = attention(
                features: inputs[0], projected: attention.project(inputs[0]), hidden: inputs[1])
            return Tensor.concat([context, weights], axis: 1)
        }
    }

    func testVocabularyCoversTheGrammarAndRoundTrips() throws {
        let vocabulary = CaptionVocabulary.grammar
        XCTAssertEqual(Array(vocabulary.words.prefix(3)), ["<pad>", "<start>", "<end>"])
        var random = RandomGenerator(seed: 9)
        for _ in 0..<400 {
            let objects = (0..<(1 + random.nextInt(below: 4))).map { _ in
                SceneObject(
                    classIndex: random.nextInt(below: 10),
                    box: SceneBox(
                        x: Double(random.nextInt(below: 40)), y: Double(random.nextInt(below: 40)),
                        width: Double(10 + random.nextInt(below: 20)), height: Double(10 + random.nextInt(below: 20))),
                    sourceIndex: 0)
            }
            let scene = Scene(size: 64, pixels: [], mask: [], objects: objects, captions: [])
            for background in SceneConfig.backgrounds {
                for caption in SceneCaptions.captions(for: scene, background: background) {
                    let ids = try XCTUnwrap(vocabulary.encode(caption), caption)
                    XCTAssertEqual(vocabulary.decode(ids), caption)
                }
            }
        }
        XCTAssertNil(vocabulary.encode("a hat"))
        let (inputs, targets) = CaptionerTrainer.sequences([[5, 6], [7]])
        XCTAssertEqual(inputs, [[1, 5, 6], [1, 7, 0]])
        XCTAssertEqual(targets, [[5, 6, 2], [7, 2, 0]])
    }

    /// A tiny captioner learns the first reference caption of four training scenes exactly; its
    /// captions of other scenes score the same corpus BLEU in Cortex as in sacrebleu.
    func testTinyCaptionerOverfitsAFewScenesAndBLEUMatchesSacrebleu() throws {
        let source = try fashionMNISTSample(2000)
        var sceneConfig = SceneConfig()
        sceneConfig.size = 32
        sceneConfig.minScale = 12
        sceneConfig.maxScale = 16
        sceneConfig.maxObjects = 2
        let generator = try SceneGenerator(source: source, config: sceneConfig)
        let scenes = (0..<4).map { generator.scene($0) }
        let vocabulary = CaptionVocabulary.grammar
        let captions = scenes.map { vocabulary.encode($0.captions[0])! }
        let network = tinyCaptioner(seed: 1)
        var config = CaptionerConfig()
        config.countLossWeight = 0
        let optimizer = Adam(network.parameterGroups(), learningRate: 3e-3)
        for _ in 0..<300 {
            network.train()
            let loss = CaptionerTrainer.loss(network, scenes: scenes, captions: captions, config: config)
            optimizer.zeroGrad()
            loss.total.backward()
            optimizer.step()
        }
        let captioner = SceneCaptioner(network: network, maxLength: 24)
        XCTAssertEqual(captioner.caption(scenes), scenes.map { $0.captions[0] })
        XCTAssertEqual(captioner.caption(scenes, beamWidth: 3), scenes.map { $0.captions[0] })
        XCTAssertEqual(CaptionScores(captions: captioner.caption(scenes), scenes: scenes).objectSetAccuracy, 1)

        let others = (100..<160).map { generator.scene($0) }
        let hypotheses = captioner.caption(others)
        let references = others.map(\.captions)
        let reference = try sacrebleuReference(hypotheses: hypotheses, references: references)
        let scores = CaptionScores(captions: hypotheses, scenes: others)
        for n in 1...4 {
            XCTAssertEqual(scores.bleu[n - 1], try XCTUnwrap(reference["bleu\(n)"]), accuracy: 1e-6, "BLEU-\(n)")
        }
        XCTAssertGreaterThan(scores.bleu[0], 10, "captions of the grammar share words with the references")
    }

    /// Object-set accuracy and count errors by hand: a right caption, a wrong count, one that
    /// does not parse.
    func testObjectSetAccuracyByHand() {
        func object(_ c: Int, x: Double) -> SceneObject {
            SceneObject(classIndex: c, box: SceneBox(x: x, y: 10, width: 10, height: 10), sourceIndex: 0)
        }
        var scene = Scene(size: 64, pixels: [], mask: [], objects: [object(8, x: 5), object(7, x: 30), object(7, x: 45)], captions: [])
        scene.captions = SceneCaptions.captions(for: scene)
        let scores = CaptionScores(
            captions: ["a bag and two sneakers", "a bag and a sneaker", "bag bag"], scenes: [scene, scene, scene])
        XCTAssertEqual(scores.objectSetAccuracy, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(scores.countErrors[7], 2)
        XCTAssertEqual(scores.countErrors[8], 1)
        XCTAssertEqual(scores.unparsed, 1)

        // The same metric on a detector's boxes: only detections scoring at least the threshold count.
        func found(_ c: Int, _ score: Double) -> Detection {
            Detection(classIndex: c, score: score, box: SceneBox(x: 0, y: 0, width: 5, height: 5))
        }
        let lists = [
            [found(8, 0.9), found(7, 0.8), found(7, 0.6)],  // right
            [found(8, 0.9), found(7, 0.8), found(7, 0.2)],  // one sneaker too few at 0.3
            [found(8, 0.9), found(7, 0.8), found(7, 0.7), found(3, 0.4)],  // a dress too many
            []
        ]
        XCTAssertEqual(objectSetAccuracy(detections: lists, scenes: [scene, scene, scene, scene], minScore: 0.3), 0.25)
        XCTAssertEqual(objectSetAccuracy(detections: lists, scenes: [scene, scene, scene, scene], minScore: 0.5), 0.5)
        XCTAssertEqual(objectSetAccuracy(detections: lists, scenes: [scene, scene, scene, scene], minScore: 0.1), 0.5)

        // Items named in place (the oracle of `detect --oracle-classifier`): the scene holds a bag
        // and two sneakers; order does not matter, a swapped class does.
        let named = [[8, 7, 7], [7, 8, 7], [8, 7, 9], [7, 7, 7]]
        XCTAssertEqual(objectSetAccuracy(scenes: [scene, scene, scene, scene], labels: named), 0.5)
    }
}

import Cortex
import CortexTestSupport
import Data
import Recipes
import XCTest

/// Corpus BLEU against hand-computed values and against sacrebleu on the same outputs.
final class BLEUTests: XCTestCase {
    /// "a bag and two sneakers" against "a bag and a sneaker" and "two sneakers and a bag":
    /// 1-grams 5/5 (a: the first reference holds two), 2-grams 3/4 (and two is missing),
    /// 3-grams 1/3 (a bag and), 4-grams 0/2 → smoothed to 100/(2·2) = 25; lengths 5 and 5,
    /// no penalty. BLEU-4 = (100 · 75 · 33.33 · 25)^¼ = 50, BLEU-2 = √7500 = 86.60.
    func testHandComputedCorpus() {
        let refs = [["a bag and a sneaker", "two sneakers and a bag"]]
        let four = BLEU.corpus(hypotheses: ["a bag and two sneakers"], references: refs)
        XCTAssertEqual(four.score, 50, accuracy: 1e-9)
        XCTAssertEqual(four.precisions[0], 100, accuracy: 1e-12)
        XCTAssertEqual(four.precisions[1], 75, accuracy: 1e-12)
        XCTAssertEqual(four.precisions[2], 100.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(four.precisions[3], 25, accuracy: 1e-12)
        XCTAssertEqual(BLEU.corpus(hypotheses: ["a bag and two sneakers"], references: refs, maxOrder: 2).score, 7500.0.squareRoot(), accuracy: 1e-9)
        // Too short: c = 2, r = 5 (the closest), penalty e^(1 − 5/2) = 0.2231; both orders match fully.
        let short = BLEU.corpus(hypotheses: ["a bag"], references: [["a bag and a sneaker"]], maxOrder: 2)
        XCTAssertEqual(short.brevityPenalty, exp(-1.5), accuracy: 1e-12)
        XCTAssertEqual(short.score, 100 * exp(-1.5), accuracy: 1e-9)
        // No match at all: 0; the closest reference length breaks ties towards the shorter.
        XCTAssertEqual(BLEU.corpus(hypotheses: ["dress"], references: [["a coat"]]).score, 0)
        XCTAssertEqual(BLEU.corpus(hypotheses: ["a b c"], references: [["a b", "a b c d"]]).referenceLength, 2)
        XCTAssertEqual(BLEU.tokenize("a bag, with a dress."), ["a", "bag", ",", "with", "a", "dress", "."])
    }

    /// 300 scene captions, each hypothesis a reference with words dropped, swapped or replaced
    /// (seeded), scored by Cortex and by sacrebleu: equal to 1e-6 for BLEU-1…4.
    func testEqualsSacrebleuOnScenesCaptions() throws {
        var random = RandomGenerator(seed: 4)
        var hypotheses: [String] = [], references: [[String]] = []
        for _ in 0..<300 {
            let objects = (0..<(1 + random.nextInt(below: 4))).map { _ in
                SceneObject(
                    classIndex: random.nextInt(below: 10),
                    box: SceneBox(x: Double(random.nextInt(below: 40)), y: Double(random.nextInt(below: 40)),
                                  width: Double(10 + random.nextInt(below: 20)), height: Double(10 + random.nextInt(below: 20))),
                    sourceIndex: 0)
            }
            let captions = SceneCaptions.captions(for: Scene(size: 64, pixels: [], mask: [], objects: objects, captions: []))
            var words = captions[random.nextInt(below: captions.count)].split(separator: " ").map(String.init)
            switch random.nextInt(below: 4) {
            case 0: if words.count > 2 { words.remove(at: random.nextInt(below: words.count)) }
            case 1: if words.count > 3 { words.swapAt(1, words.count - 1) }
            case 2: words[random.nextInt(below: words.count)] = SceneCaptions.nouns[random.nextInt(below: 10)]
            default: break
            }
            hypotheses.append(words.joined(separator: " "))
            references.append(Array(captions.prefix(3 + random.nextInt(below: 3))))
        }
        let reference = try sacrebleuReference(hypotheses: hypotheses, references: references)
        for n in 1...4 {
            let mine = BLEU.corpus(hypotheses: hypotheses, references: references, maxOrder: n).score
            XCTAssertEqual(mine, try XCTUnwrap(reference["bleu\(n)"]), accuracy: 1e-6, "BLEU-\(n)")
        }
        XCTAssertGreaterThan(reference["bleu4"]!, 10)
        XCTAssertLessThan(reference["bleu4"]!, 99)
    }
}

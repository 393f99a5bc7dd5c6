import Cortex
import CortexTestSupport
import Data
import XCTest

/// Char tokenizer, corpus split and block batches.
final class CharCorpusTests: XCTestCase {
    func testTokenizerRoundTripAndOrder() throws {
        let tokenizer = CharTokenizer(text: "hello, world\n")
        // sorted(set("hello, world\n")) in Python: ['\n', ' ', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
        XCTAssertEqual(tokenizer.vocabulary.map { String($0) }, ["\n", " ", ",", "d", "e", "h", "l", "o", "r", "w"])
        XCTAssertEqual(try tokenizer.encode("hello"), [5, 4, 6, 6, 7])
        XCTAssertEqual(tokenizer.decode([9, 7, 8, 6, 3]), "world")
        XCTAssertEqual(tokenizer.decode(try tokenizer.encode("hello, world\n")), "hello, world\n")
        // Scalars, not graphemes: "\r\n" is two tokens and "é" as e + combining acute is two.
        let unicode = CharTokenizer(text: "a\r\nb e\u{301} é")
        XCTAssertEqual(unicode.vocabularySize, 8)
        XCTAssertEqual(unicode.decode(try unicode.encode("e\u{301}\r\n")), "e\u{301}\r\n")
    }

    func testOutOfVocabularyNamesTheCharacter() {
        let tokenizer = CharTokenizer(text: "abc")
        XCTAssertThrowsError(try tokenizer.encode("cab z")) { error in
            XCTAssertEqual("\(error)", "character U+0020 at position 3 is not in the model's vocabulary")
        }
        XCTAssertThrowsError(try tokenizer.encode("abcQ")) { error in
            XCTAssertEqual("\(error)", "character 'Q' (U+0051) at position 3 is not in the model's vocabulary")
        }
    }

    func testSerialisedVocabulary() throws {
        let tokenizer = CharTokenizer(text: "To be\n\"or\"/\\ é")
        let json = tokenizer.serialized()
        XCTAssertEqual(json, #"["\n"," ","\"","/","T","\\","b","e","o","r","é"]"#)
        XCTAssertEqual(try CharTokenizer(serialized: json), tokenizer)
        XCTAssertThrowsError(try CharTokenizer(serialized: #"["b","a"]"#))
        XCTAssertThrowsError(try CharTokenizer(serialized: #"["ab"]"#))
        XCTAssertThrowsError(try CharTokenizer(serialized: "{}"))
    }

    func testSplitAndBatches() {
        // 0123456789 repeated: 100 characters, vocabulary = the ten digits, token = digit.
        let text = String(repeating: "0123456789", count: 10)
        let corpus = CharCorpus(text: text)
        XCTAssertEqual(corpus.train.count, 90)
        XCTAssertEqual(corpus.validation.count, 10)
        XCTAssertEqual(corpus.validation.first, 0)  // character 90 is "0"
        var generator = RandomGenerator(seed: 5)
        let batch = corpus.randomBatch(.train, batchSize: 3, blockSize: 8, generator: &generator)
        XCTAssertEqual(batch.inputs.count, 24)
        for b in 0..<3 {
            for t in 0..<8 {
                let x = batch.inputs[b * 8 + t], y = batch.targets[b * 8 + t]
                XCTAssertEqual(y, (x + 1) % 10, "target is the next character")
                if t > 0 { XCTAssertEqual(x, batch.targets[b * 8 + t - 1]) }
            }
        }
        var again = RandomGenerator(seed: 5)
        XCTAssertEqual(corpus.randomBatch(.train, batchSize: 3, blockSize: 8, generator: &again), batch)
        var other = RandomGenerator(seed: 6)
        XCTAssertNotEqual(corpus.randomBatch(.train, batchSize: 3, blockSize: 8, generator: &other), batch)
        XCTAssertEqual(
            corpus.evaluationBatches(.validation, count: 2, batchSize: 4, blockSize: 5),
            corpus.evaluationBatches(.validation, count: 2, batchSize: 4, blockSize: 5))
        // Validation blocks of 9 from 10 tokens can only start at 0.
        let last = corpus.evaluationBatches(.validation, count: 1, batchSize: 2, blockSize: 9)[0]
        XCTAssertEqual(last.inputs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(last.targets.suffix(9), [1, 2, 3, 4, 5, 6, 7, 8, 9])
    }

    func testTextFileErrors() throws {
        let directory = try makeTemporaryDirectory(self)
        XCTAssertThrowsError(try CharCorpus(path: "\(directory)/absent.txt")) {
            XCTAssertEqual("\($0)", "\(directory)/absent.txt: no such file or directory")
        }
        try writeFile([], "\(directory)/empty.txt")
        XCTAssertThrowsError(try CharCorpus(path: "\(directory)/empty.txt")) {
            XCTAssertEqual("\($0)", "\(directory)/empty.txt: the file is empty")
        }
        // "ab" then a Latin-1 é (0xE9, not UTF-8).
        try writeFile([0x61, 0x62, 0xE9, 0x21], "\(directory)/latin1.txt")
        XCTAssertThrowsError(try CharCorpus(path: "\(directory)/latin1.txt")) {
            XCTAssertEqual("\($0)", "\(directory)/latin1.txt: not UTF-8 text (invalid byte sequence at byte 2)")
        }
        try writeFile([0xEF, 0xBB, 0xBF] + Array("héllo".utf8), "\(directory)/bom.txt")
        XCTAssertEqual(try CharCorpus(path: "\(directory)/bom.txt").tokenizer.vocabularySize, 4)
    }

    func testTinyShakespeare() throws {
        let path = packageRoot.appendingPathComponent("../shared/data/tinyshakespeare.txt").standardized.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw missingPrerequisite("../shared/data/tinyshakespeare.txt is absent")
        }
        let corpus = try CharCorpus(path: path)
        // nanoGPT's prepare.py prints: vocab size 65, train 1,003,854 tokens, val 111,540 tokens.
        XCTAssertEqual(corpus.tokenizer.vocabularySize, 65)
        XCTAssertEqual(corpus.train.count, 1_003_854)
        XCTAssertEqual(corpus.validation.count, 111_540)
        XCTAssertEqual(corpus.tokenizer.decode(corpus.train.prefix(14)), "First Citizen:")
    }

    /// The default corpus that scripts/setup builds (absent until setup has run).
    func testDefaultShakespeareCorpus() throws {
        let path = packageRoot.appendingPathComponent("data/shakespeare.txt").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw missingPrerequisite("data/shakespeare.txt is absent (scripts/setup builds it)")
        }
        let corpus = try CharCorpus(path: path)
        // Python: len(set(open("data/shakespeare.txt").read())) == 84, len(...) == 5057198 (all ASCII).
        XCTAssertEqual(corpus.tokenizer.vocabularySize, 84)
        XCTAssertEqual(corpus.train.count + corpus.validation.count, 5_057_198)
        XCTAssertEqual(corpus.tokenizer.decode(corpus.train.prefix(39)), "ALL'S WELL THAT ENDS WELL\n\nby William S")
    }
}

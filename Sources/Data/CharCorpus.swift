import Cortex
import Foundation

/// Reading text files with errors a user can act on.
public enum TextFile {
    /// The content of a UTF-8 file (a leading byte-order mark is dropped).
    /// - Throws: `DataError.fileNotFound`, `emptyFile`, or `notUTF8` with the first bad byte's offset.
    public static func read(path: String) throws -> String {
        let bytes = try FileInput.readRaw(path)
        if bytes.isEmpty { throw DataError.emptyFile(path: path) }
        var text = try decodeUTF8(bytes, path: path)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if text.isEmpty { throw DataError.emptyFile(path: path) }
        return text
    }

    /// Strict UTF-8 decoding that reports where the bytes go wrong.
    static func decodeUTF8(_ bytes: [UInt8], path: String) throws -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case let .scalarValue(scalar): offset += UTF8.width(scalar)
            case .emptyInput: return String(decoding: bytes, as: UTF8.self)
            case .error: throw DataError.notUTF8(path: path, byteOffset: offset)
            }
        }
    }
}

/// A character-level tokenizer: the vocabulary is the sorted set of the corpus's Unicode scalars
/// (nanoGPT's `chars = sorted(list(set(data)))`, which sorts Python's code points), and token
/// `i` is `vocabulary[i]`.
///
/// Scalars, not Swift `Character`s: a grapheme such as "\r\n" or "é" written as e + ◌́ would
/// otherwise be one token here and two in nanoGPT.
public struct CharTokenizer: Equatable, Sendable {
    /// The characters in token order (ascending code point, no repeats).
    public let vocabulary: [Unicode.Scalar]
    /// Token of each code point below 128 (-1: absent), so ASCII text encodes without hashing.
    private let asciiTokens: [Int32]
    private let tokens: [Unicode.Scalar: Int]

    /// The vocabulary of `text`.
    public init(text: String) {
        self.init(sortedVocabulary: Array(Set(text.unicodeScalars)).sorted { $0.value < $1.value })
    }

    private init(sortedVocabulary: [Unicode.Scalar]) {
        vocabulary = sortedVocabulary
        var ascii = [Int32](repeating: -1, count: 128)
        var tokens: [Unicode.Scalar: Int] = [:]
        for (token, scalar) in sortedVocabulary.enumerated() {
            tokens[scalar] = token
            if scalar.value < 128 { ascii[Int(scalar.value)] = Int32(token) }
        }
        asciiTokens = ascii
        self.tokens = tokens
    }

    public static func == (a: CharTokenizer, b: CharTokenizer) -> Bool { a.vocabulary == b.vocabulary }

    /// Number of distinct tokens.
    public var vocabularySize: Int { vocabulary.count }

    /// The tokens of `text`.
    /// - Throws: `DataError.unknownCharacter` naming the first character outside the vocabulary
    ///   and its position (in Unicode scalars).
    public func encode(_ text: String) throws -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count)
        try asciiTokens.withUnsafeBufferPointer { ascii in
            for (position, scalar) in text.unicodeScalars.enumerated() {
                let value = scalar.value
                let token = value < 128 ? Int(ascii[Int(value)]) : (tokens[scalar] ?? -1)
                if token < 0 { throw DataError.unknownCharacter(String(scalar), position: position) }
                out.append(token)
            }
        }
        return out
    }

    /// The text of `tokens` (each in `0..<vocabularySize`).
    public func decode<Tokens: Sequence>(_ tokens: Tokens) -> String where Tokens.Element: BinaryInteger {
        var scalars = String.UnicodeScalarView()
        for token in tokens {
            precondition(
                token >= 0 && Int(token) < vocabulary.count,
                "CharTokenizer.decode: token \(token) outside 0..<\(vocabulary.count)")
            scalars.append(vocabulary[Int(token)])
        }
        return String(scalars)
    }

    /// The vocabulary as a JSON array of one-character strings, e.g. `["\n"," ","!",…]`, for a
    /// checkpoint's metadata.
    public func serialized() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try! encoder.encode(vocabulary.map { String($0) })
        return String(decoding: data, as: UTF8.self)
    }

    /// A tokenizer from `serialized()` output.
    /// - Throws: `DataError.invalidVocabulary` unless it is a JSON array of distinct
    ///   one-scalar strings in ascending order.
    public init(serialized: String) throws {
        guard let strings = try? JSONDecoder().decode([String].self, from: Data(serialized.utf8)) else {
            throw DataError.invalidVocabulary(reason: "not a JSON array of strings")
        }
        var scalars: [Unicode.Scalar] = []
        for string in strings {
            guard string.unicodeScalars.count == 1, let scalar = string.unicodeScalars.first else {
                throw DataError.invalidVocabulary(reason: "entry \(DataError.describe(string)) is not one character")
            }
            if let last = scalars.last, last.value >= scalar.value {
                throw DataError.invalidVocabulary(
                    reason: "characters not in ascending order at \(DataError.describe(string))")
            }
            scalars.append(scalar)
        }
        if scalars.isEmpty { throw DataError.invalidVocabulary(reason: "empty") }
        self.init(sortedVocabulary: scalars)
    }
}

/// A batch of `B` token blocks of length `T` for next-token prediction: `targets` is `inputs`
/// shifted by one position in the corpus. Layout: `[B, T]` row-major.
public struct TokenBatch: Equatable, Sendable {
    public let batchSize: Int
    public let blockSize: Int
    public let inputs: [Int]
    public let targets: [Int]
}

/// A text corpus as tokens, split into training and validation parts, handing out random
/// contiguous blocks as nanoGPT's `get_batch` does.
public struct CharCorpus: Sendable {
    public let tokenizer: CharTokenizer
    /// The first 90 % of the tokens (nanoGPT's `data[:int(n*0.9)]`).
    public let train: [Int32]
    /// The last 10 %.
    public let validation: [Int32]

    /// Tokenizes `text` with its own vocabulary and splits it; `trainFraction` of the tokens go
    /// to training.
    public init(text: String, trainFraction: Double = 0.9) {
        precondition(
            trainFraction > 0 && trainFraction < 1, "CharCorpus: train fraction \(trainFraction) outside (0, 1)")
        tokenizer = CharTokenizer(text: text)
        let tokens = (try! tokenizer.encode(text)).map(Int32.init)
        let cut = Int(Double(tokens.count) * trainFraction)
        train = Array(tokens[..<cut])
        validation = Array(tokens[cut...])
    }

    /// Tokenizes `text` with a given vocabulary (a trained model's) and splits it.
    /// - Throws: `DataError.unknownCharacter` for a character outside the vocabulary.
    public init(text: String, tokenizer: CharTokenizer, trainFraction: Double = 0.9) throws {
        precondition(
            trainFraction > 0 && trainFraction < 1, "CharCorpus: train fraction \(trainFraction) outside (0, 1)")
        self.tokenizer = tokenizer
        let tokens = try tokenizer.encode(text).map(Int32.init)
        let cut = Int(Double(tokens.count) * trainFraction)
        train = Array(tokens[..<cut])
        validation = Array(tokens[cut...])
    }

    /// The corpus in a UTF-8 file (`--data FILE`).
    public init(path: String, trainFraction: Double = 0.9) throws {
        self.init(text: try TextFile.read(path: path), trainFraction: trainFraction)
    }

    public func tokens(of split: TextSplit) -> [Int32] { split == .train ? train : validation }

    /// `batchSize` blocks starting at uniform random offsets in `0 ..< n − blockSize` of `split`.
    /// - Precondition: the split is longer than `blockSize`.
    public func randomBatch(
        _ split: TextSplit, batchSize: Int, blockSize: Int,
        generator: inout RandomGenerator
    ) -> TokenBatch {
        let data = tokens(of: split)
        precondition(
            batchSize > 0 && blockSize > 0 && data.count > blockSize,
            "CharCorpus.randomBatch: \(split) split of \(data.count) tokens is too short for blocks of \(blockSize)")
        var inputs = [Int](repeating: 0, count: batchSize * blockSize), targets = inputs
        data.withUnsafeBufferPointer { tokens in
            for b in 0..<batchSize {
                let start = generator.nextInt(below: tokens.count - blockSize)
                for t in 0..<blockSize {
                    inputs[b * blockSize + t] = Int(tokens[start + t])
                    targets[b * blockSize + t] = Int(tokens[start + t + 1])
                }
            }
        }
        return TokenBatch(batchSize: batchSize, blockSize: blockSize, inputs: inputs, targets: targets)
    }

    /// `count` batches drawn from their own generator seeded with `seed`, the same on every call:
    /// loss estimates that compare across iterations and runs.
    public func evaluationBatches(
        _ split: TextSplit, count: Int, batchSize: Int, blockSize: Int,
        seed: UInt64 = 1337
    ) -> [TokenBatch] {
        var generator = RandomGenerator(seed: seed)
        return (0..<count).map { _ in
            randomBatch(split, batchSize: batchSize, blockSize: blockSize, generator: &generator)
        }
    }
}

/// Which part of a text corpus.
public enum TextSplit: String, Sendable {
    case train, validation
}

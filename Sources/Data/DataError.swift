/// Something wrong with a file or value a user handed to the data layer: a dataset, an image,
/// a corpus, a prompt. Each description is one line that names the file (or character) at fault,
/// ready for a command to print before it exits non-zero.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// The file or directory does not exist.
    case fileNotFound(path: String)
    /// The file exists but could not be read (permissions, I/O error, broken gzip stream).
    case unreadable(path: String, reason: String)
    /// The file holds no data at all.
    case emptyFile(path: String)
    /// The file's leading magic number is not the one its format requires.
    case badMagic(path: String, found: String, expected: String)
    /// The file ends before the data its header announces.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The file is well formed but its contents disagree with what the caller needs
    /// (dimensions, data type, trailing bytes, value ranges).
    case invalidContents(path: String, reason: String)
    /// An image file and its label file hold different numbers of items.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// The file is neither PNG nor PGM/PPM, or libpng rejected it.
    case notAnImage(path: String, reason: String)
    /// A text file is not valid UTF-8; `byteOffset` is where decoding first failed.
    case notUTF8(path: String, byteOffset: Int)
    /// A text holds a character the tokenizer's vocabulary lacks.
    case unknownCharacter(String, position: Int)
    /// A serialised vocabulary (checkpoint metadata) could not be parsed.
    case invalidVocabulary(reason: String)
    /// Writing a file failed.
    case writeFailed(path: String, reason: String)
    /// A setting or value handed to the data layer is out of range.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "\(path): no such file or directory"
        case let .unreadable(path, reason):
            return "\(path): cannot read: \(reason)"
        case let .emptyFile(path):
            return "\(path): the file is empty"
        case let .badMagic(path, found, expected):
            return "\(path): bad magic number \(found), expected \(expected)"
        case let .truncated(path, expected, actual):
            return "\(path): truncated: the header announces \(expected) bytes, the file holds \(actual)"
        case let .invalidContents(path, reason):
            return "\(path): \(reason)"
        case let .countMismatch(imagesPath, images, labelsPath, labels):
            return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels"
        case let .notAnImage(path, reason):
            return "\(path): not an image (PNG, PGM or PPM): \(reason)"
        case let .notUTF8(path, offset):
            return "\(path): not UTF-8 text (invalid byte sequence at byte \(offset))"
        case let .unknownCharacter(text, position):
            return "character \(DataError.describe(text)) at position \(position) is not in the model's vocabulary"
        case let .invalidVocabulary(reason):
            return "invalid vocabulary: \(reason)"
        case let .writeFailed(path, reason):
            return "\(path): cannot write: \(reason)"
        case let .invalidArgument(message):
            return message
        }
    }

    /// A character shown so that invisible ones remain visible: `'x'` or `U+0009`.
    static func describe(_ text: String) -> String {
        let scalars = text.unicodeScalars
        if scalars.count == 1, let scalar = scalars.first, !scalar.properties.isWhitespace,
            scalar.properties.generalCategory != .control
        {
            return "'\(text)' (\(codePoint(scalar)))"
        }
        return scalars.map(codePoint).joined(separator: " ")
    }

    /// `U+0009`, `U+1F600`: at least four hex digits, as Unicode writes them.
    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

import Foundation

/// Why a checkpoint could not be read, written or applied; `description` is one line.
public enum CheckpointError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The file could not be opened, read or written.
    case io(String)
    /// The file is not a safetensors file or is damaged (`path`, what is wrong).
    case malformed(path: String, reason: String)
    /// A tensor is stored in a type Cortex does not read (it reads `F32` only).
    case unsupportedDType(path: String, name: String, dtype: String)
    /// The checkpoint's tensors do not fit the module: every problem at once.
    case stateMismatch(missing: [String], unexpected: [String], shapes: [(name: String, expected: [Int], found: [Int])])

    public var description: String {
        switch self {
        case .io(let text):
            return text
        case let .malformed(path, reason):
            return "\(path) is not a valid safetensors file: \(reason)"
        case let .unsupportedDType(path, name, dtype):
            return "\(path): tensor '\(name)' has dtype \(dtype); Cortex reads F32 only"
        case let .stateMismatch(missing, unexpected, shapes):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.count): \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty {
                parts.append("unexpected \(unexpected.count): \(unexpected.joined(separator: ", "))")
            }
            if !shapes.isEmpty {
                let list = shapes.map { "\($0.name) expects \($0.expected) but file has \($0.found)" }
                parts.append("shape mismatch \(shapes.count): \(list.joined(separator: ", "))")
            }
            return "checkpoint does not fit the model: " + parts.joined(separator: "; ")
        }
    }

    public var errorDescription: String? { description }

    public static func == (lhs: CheckpointError, rhs: CheckpointError) -> Bool {
        lhs.description == rhs.description
    }
}

/// The safetensors format (Hugging Face, 2022): named tensors plus string metadata.
///
/// Layout of a file:
/// ```
/// [8 bytes]  N, the header length, unsigned little-endian
/// [N bytes]  JSON: {"__metadata__": {"key": "value", …},
///                   "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …}
///            padded with spaces to a multiple of 8 bytes (as the reference writer does)
/// [rest]     the data section: each tensor's values, row-major, little-endian;
///            offsets are [begin, end) in bytes from the start of this section
/// ```
/// Cortex writes tensors sorted by name, back to back, and reads only `F32`. Reading checks
/// every rule of the reference implementation: header length within the file and at most
/// 100 MB, valid UTF-8 JSON object, string metadata, known dtype, non-negative integer shape,
/// `end − begin == 4 · Π shape`, and offsets that tile the data section exactly (no gap, no
/// overlap, nothing after the last tensor).
public struct SafeTensors {
    /// Tensors in the order of their data in the file.
    public var tensors: [NamedTensor]
    /// The `__metadata__` map (absent in the file ⇒ empty).
    public var metadata: [String: String]

    public init(tensors: [NamedTensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensors by name.
    public var dictionary: [String: Tensor] {
        Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
    }

    /// Largest header the reference implementation accepts.
    static let maximumHeaderLength = 100_000_000

    // MARK: writing

    /// Writes `tensors` and `metadata` to `path` atomically (temporary file, fsync, rename).
    /// Names must be unique.
    public func write(to path: String) throws {
        let sorted = tensors.sorted { $0.name < $1.name }
        var names = Set<String>()
        for (name, _) in sorted {
            precondition(names.insert(name).inserted, "SafeTensors.write: duplicate tensor name '\(name)'")
            precondition(name != "__metadata__", "SafeTensors.write: '__metadata__' is reserved")
        }
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, tensor) in sorted {
            let end = offset + tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append(
                "\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var prefix = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { prefix[i] = UInt8(truncatingIfNeeded: UInt64(headerBytes.count) >> (8 * UInt64(i))) }
        do {
            try writeFileAtomically(path) { sink in
                try sink.write(prefix)
                try sink.write(headerBytes)
                for (_, tensor) in sorted where tensor.count > 0 {
                    // Float is little-endian on every platform Swift on Linux targets.
                    try sink.write(UnsafeRawPointer(tensor.storage.pointer), count: tensor.count * 4)
                }
            }
        } catch let error as FileError {
            throw CheckpointError.io(error.description)
        }
    }

    // MARK: reading

    /// Reads and validates a safetensors file.
    public static func read(from path: String) throws -> SafeTensors {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path)
        } catch let error as FileError {
            throw CheckpointError.io(error.description)
        }
        return try decode(bytes, path: path)
    }

    /// Parses and validates the bytes of a safetensors file; `path` only labels errors.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> SafeTensors {
        func fail(_ reason: String) -> CheckpointError { .malformed(path: path, reason: reason) }
        guard bytes.count >= 8 else {
            throw fail("file is \(bytes.count) bytes, shorter than the 8-byte header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(maximumHeaderLength) else {
            throw fail("header length \(length) exceeds the 100 MB limit (file is \(bytes.count) bytes)")
        }
        let headerLength = Int(length)
        guard 8 + headerLength <= bytes.count else {
            throw fail("header length \(headerLength) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        guard headerLength >= 2, bytes[8] == UInt8(ascii: "{") else { throw fail("header is not a JSON object") }
        let headerData = Data(bytes[8..<(8 + headerLength)])
        guard String(data: headerData, encoding: .utf8) != nil else { throw fail("header is not valid UTF-8") }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData, options: [])
        } catch {
            throw fail("header is not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }

        var metadata: [String: String] = [:]
        if let raw = object["__metadata__"] {
            guard let map = raw as? [String: Any] else { throw fail("__metadata__ is not an object") }
            for (key, value) in map {
                guard let text = value as? String else { throw fail("__metadata__ value of '\(key)' is not a string") }
                metadata[key] = text
            }
        }

        struct Entry {
            let name: String
            let shape: [Int]
            let begin: Int
            let end: Int
        }
        var entries: [Entry] = []
        for (name, raw) in object where name != "__metadata__" {
            guard let info = raw as? [String: Any] else { throw fail("entry '\(name)' is not an object") }
            guard let dtype = info["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype") }
            guard let shapeList = info["shape"] as? [Any], let shape = integers(shapeList),
                shape.allSatisfy({ $0 >= 0 })
            else {
                throw fail("tensor '\(name)' has no valid shape")
            }
            guard let offsetList = info["data_offsets"] as? [Any], let offsets = integers(offsetList),
                offsets.count == 2
            else {
                throw fail("tensor '\(name)' has no valid data_offsets")
            }
            let elementSize: Int
            switch dtype {
            case "F32": elementSize = 4
            case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3": elementSize = 1
            case "I16", "U16", "F16", "BF16": elementSize = 2
            case "I32", "U32": elementSize = 4
            case "I64", "U64", "F64": elementSize = 8
            default: throw fail("tensor '\(name)' has unknown dtype '\(dtype)'")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end else { throw fail("tensor '\(name)' has data_offsets [\(begin), \(end)]") }
            var elements = 1
            for extent in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
                guard !overflow else { throw fail("tensor '\(name)' shape \(shape) overflows") }
                elements = product
            }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: elementSize)
            guard !overflow, end - begin == byteCount else {
                throw fail(
                    "tensor '\(name)' of shape \(shape) and dtype \(dtype) needs \(overflow ? "too many" : String(byteCount)) bytes, offsets give \(end - begin)"
                )
            }
            guard dtype == "F32" else { throw CheckpointError.unsupportedDType(path: path, name: name, dtype: dtype) }
            entries.append(Entry(name: name, shape: shape, begin: begin, end: end))
        }

        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        for entry in entries {
            guard entry.begin == position else {
                throw fail(
                    entry.begin < position
                        ? "tensor '\(entry.name)' overlaps the previous tensor"
                        : "gap before tensor '\(entry.name)' at byte \(position) of the data section")
            }
            guard entry.end <= dataLength else {
                throw fail(
                    "tensor '\(entry.name)' ends at byte \(entry.end) but the data section has \(dataLength) (truncated?)"
                )
            }
            position = entry.end
        }
        guard position == dataLength else {
            throw fail("data section has \(dataLength) bytes but the tensors cover \(position)")
        }

        var tensors: [NamedTensor] = []
        tensors.reserveCapacity(entries.count)
        bytes.withUnsafeBytes { raw in
            for entry in entries {
                let count = (entry.end - entry.begin) / 4
                let storage = TensorStorage(uninitializedCount: count)
                if count > 0 {
                    UnsafeMutableRawPointer(storage.pointer).copyMemory(
                        from: raw.baseAddress! + dataStart + entry.begin,
                        byteCount: count * 4)
                }
                tensors.append((entry.name, Tensor(shape: entry.shape, storage: storage)))
            }
        }
        return SafeTensors(tensors: tensors, metadata: metadata)
    }
}

/// Integers from JSON numbers, or nil if any value is not an integral number.
private func integers(_ values: [Any]) -> [Int]? {
    var result: [Int] = []
    for value in values {
        // JSON booleans also arrive as NSNumber, with the C type "c".
        if let number = value as? NSNumber, String(cString: number.objCType) != "c" {
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9.0e15 else { return nil }
            result.append(number.intValue)
        } else {
            return nil
        }
    }
    return result
}

/// A JSON string literal for `text` (quotes, backslashes and control characters escaped).
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

// MARK: - Model checkpoints

/// Saving and restoring a model (and optionally its optimizer) as one `.safetensors` file.
///
/// Keys: the model's `stateDict()` names unchanged (`0.weight`, `bn.running_mean`), so the
/// file loads into the same PyTorch architecture with
/// `model.load_state_dict(safetensors.torch.load_file(path), strict=False)` once the
/// `optimizer.` entries are filtered out. The optimizer's slots are stored as
/// `optimizer.<parameter name>.<slot>` (`optimizer.0.weight.exp_avg`) and its counters and
/// learning rate as metadata `optimizer.<key>`. Metadata also carries `format: pt`
/// (what Hugging Face loaders expect) unless the caller sets `format`.
public enum Checkpoint {
    /// The key prefix of optimizer entries.
    public static let optimizerPrefix = "optimizer."

    /// Writes `module`'s parameters and buffers, the optimizer's state and `metadata`
    /// atomically to `path`.
    public static func save(
        _ module: any Module, optimizer: Optimizer? = nil,
        metadata: [String: String] = [:], to path: String
    ) throws {
        var tensors = module.stateDict()
        var seen = Set<String>()
        for (name, _) in tensors {
            precondition(seen.insert(name).inserted, "Checkpoint.save: duplicate key '\(name)'")
        }
        var meta = metadata
        if meta["format"] == nil { meta["format"] = "pt" }
        if let optimizer {
            let state = optimizer.stateDict()
            for (name, tensor) in state.tensors.sorted(by: { $0.key < $1.key }) {
                tensors.append((optimizerPrefix + name, tensor))
            }
            for (key, value) in state.scalars {
                // Counters as integers ("500"), rates in Swift's shortest round-trip form.
                let integral = value == value.rounded() && abs(value) < 1e15
                meta[optimizerPrefix + key] = integral ? String(Int64(value)) : "\(value)"
            }
        }
        try SafeTensors(tensors: tensors, metadata: meta).write(to: path)
    }

    /// Reads `path`, copies its tensors into `module` (and `optimizer`'s state, when given)
    /// and returns the file's metadata. Nothing is changed unless everything fits.
    ///
    /// Strict by default, as PyTorch's `load_state_dict`: every tensor the module expects must
    /// be there with its shape, and no other may be, except the optimizer's and those under
    /// `ignoring` prefixes (a target network, when only the online one is wanted).
    @discardableResult
    public static func load(
        into module: any Module, optimizer: Optimizer? = nil, from path: String,
        strict: Bool = true, ignoring prefixes: [String] = []
    ) throws -> [String: String] {
        let file = try SafeTensors.read(from: path)
        var modelTensors: [String: Tensor] = [:]
        var optimizerTensors: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where !prefixes.contains(where: { name.hasPrefix($0) }) {
            if name.hasPrefix(optimizerPrefix) {
                optimizerTensors[String(name.dropFirst(optimizerPrefix.count))] = tensor
            } else {
                modelTensors[name] = tensor
            }
        }
        var state: OptimizerState?
        if let optimizer {
            var scalars: [String: Double] = [:]
            for (key, value) in file.metadata where key.hasPrefix(optimizerPrefix) {
                guard let number = Double(value) else {
                    throw CheckpointError.malformed(
                        path: path, reason: "metadata '\(key)' = '\(value)' is not a number")
                }
                scalars[String(key.dropFirst(optimizerPrefix.count))] = number
            }
            state = OptimizerState(tensors: optimizerTensors, scalars: scalars)
            try optimizer.validate(state!, path: path)
        }
        try module.loadStateDict(modelTensors, strict: strict)
        if let optimizer, let state { try optimizer.loadStateDict(state) }
        return file.metadata
    }
}

// MARK: - Weights-only export

extension Checkpoint {
    /// Metadata keys that hold a run's progress rather than what the network is.
    public static let trainingStateSuffix = ".state"

    /// The weights of a training checkpoint alone, as model hubs ship them: the optimizer's
    /// slots and counters, any tensor under `droppingPrefixes` (a target network) and the
    /// training progress (`*.state` metadata) are left out; the network's own tensors, under
    /// their own names, and what describes the network (its config) stay.
    public static func weightsOnly(
        _ file: SafeTensors, droppingPrefixes prefixes: [String] = ["target."]
    ) -> SafeTensors {
        let dropped = [optimizerPrefix] + prefixes
        let tensors = file.tensors.filter { entry in !dropped.contains { entry.name.hasPrefix($0) } }
        let metadata = file.metadata.filter { key, _ in
            !key.hasPrefix(optimizerPrefix) && !key.hasSuffix(trainingStateSuffix)
        }
        return SafeTensors(tensors: tensors, metadata: metadata)
    }
}

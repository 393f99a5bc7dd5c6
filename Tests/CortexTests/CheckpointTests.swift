import Cortex
import CortexTestSupport
import Foundation
import XCTest

/// A module built by hand (no ops needed): two parameters, a child with a buffer.
final class TinyStateNet: Module {
    var isTraining = true
    let weight: Tensor
    let bias: Tensor
    let norm = TinyStateNorm()
    init(seed: UInt64) {
        var generator = RandomGenerator(seed: seed)
        weight = Tensor.randn([2, 3], using: &generator, requiresGrad: true)
        bias = Tensor.randn([2], using: &generator, requiresGrad: true)
    }
    var localParameters: [NamedTensor] { [("weight", weight), ("bias", bias)] }
    var children: [(name: String, module: any Module)] { [("norm", norm)] }
}

final class TinyStateNorm: Module {
    var isTraining = true
    let scale = Tensor.ones([2], requiresGrad: true)
    let runningMean = Tensor([0.25, -0.5])
    var localParameters: [NamedTensor] { [("weight", scale)] }
    var localBuffers: [NamedTensor] { [("running_mean", runningMean)] }
}

final class CheckpointTests: XCTestCase {
    private var folder: String!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "cortex-checkpoint-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func bits(_ tensor: Tensor) -> [UInt32] { tensor.scalars.map(\.bitPattern) }

    private func sample() -> SafeTensors {
        SafeTensors(
            tensors: [
                ("layer.weight", Tensor(shape: [2, 3], data: [1.5, -2.25, 3, .pi, -0.0, 1e-30])),
                ("layer.bias", Tensor([0.5, -0.5])),
                ("count", Tensor(scalar: 7)),
                ("empty", Tensor.zeros([0, 3]))
            ],
            metadata: ["step": "1200", "vocabulary": "a\"b\\c\n\u{1}é"])
    }

    private func assertMalformed(
        _ bytes: [UInt8], contains fragment: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try SafeTensors.decode(bytes, path: "x.safetensors"), file: file, line: line) { error in
            guard case CheckpointError.malformed(path: "x.safetensors", let reason) = error else {
                return XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertTrue(reason.contains(fragment), "'\(reason)' lacks '\(fragment)'", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), file: file, line: line)
        }
    }

    // MARK: format

    func testRoundTripGivesIdenticalTensorsAndMetadata() throws {
        let path = folder + "/a.safetensors"
        try sample().write(to: path)
        let read = try SafeTensors.read(from: path)
        XCTAssertEqual(read.metadata, sample().metadata)
        let original = sample().dictionary, loaded = read.dictionary
        XCTAssertEqual(Set(loaded.keys), Set(original.keys))
        for (name, tensor) in original {
            XCTAssertEqual(loaded[name]!.shape, tensor.shape, name)
            XCTAssertEqual(bits(loaded[name]!), bits(tensor), name)
        }
        // Nothing but the file is left in the folder (the temporary file was renamed).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["a.safetensors"])
    }

    func testLayoutFollowsTheSpecification() throws {
        let path = folder + "/b.safetensors"
        try SafeTensors(tensors: [("b", Tensor([1, 2])), ("a", Tensor(scalar: -1))], metadata: ["k": "v"]).write(
            to: path)
        let bytes = Array(FileManager.default.contents(atPath: path)!)
        let n = Int(bytes[0]) | Int(bytes[1]) << 8
        XCTAssertEqual(bytes[2..<8], [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        XCTAssertEqual(
            header.trimmingCharacters(in: .whitespaces),
            #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        )
        XCTAssertTrue(header.hasSuffix(" ") || header.utf8.count % 8 == 0)
        // Data: −1, 1, 2 as little-endian Float32.
        XCTAssertEqual(Array(bytes[(8 + n)...]), [0, 0, 0x80, 0xBF, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40])
    }

    /// A file written by Python's `safetensors` 0.8.0 (NumPy 2.4), embedded as base64:
    /// ```python
    /// import numpy as np, base64
    /// from safetensors.numpy import save
    /// data = save({"weight": np.array([[1.5, -2.25, 3.0], [0.125, 1e-3, -7.0]], dtype=np.float32),
    ///              "bias": np.array([0.5, -0.5], dtype=np.float32),
    ///              "scalar": np.array(42.0, dtype=np.float32)},
    ///             metadata={"step": "1200", "note": "written by python"})
    /// print(base64.b64encode(data).decode())
    /// ```
    func testReadsAFileWrittenByPython() throws {
        let base64 =
            "8AAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJzdGVwIjoiMTIwMCIsIm5vdGUiOiJ3cml0dGVuIGJ5IHB5dGhvbiJ9LCJiaWFzIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMCw4XX0sInNjYWxhciI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbXSwiZGF0YV9vZmZzZXRzIjpbOCwxMl19LCJ3ZWlnaHQiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzIsM10sImRhdGFfb2Zmc2V0cyI6WzEyLDM2XX19ICAgICAAAAA/AAAAvwAAKEIAAMA/AAAQwAAAQEAAAAA+bxKDOgAA4MA="
        let file = try SafeTensors.decode(Array(Data(base64Encoded: base64)!), path: "python.safetensors")
        XCTAssertEqual(file.metadata, ["step": "1200", "note": "written by python"])
        let tensors = file.dictionary
        XCTAssertEqual(file.tensors.map(\.name), ["bias", "scalar", "weight"])
        assertTensor(tensors["weight"]!, shape: [2, 3], [1.5, -2.25, 3.0, 0.125, 1e-3, -7.0], accuracy: 0)
        assertTensor(tensors["bias"]!, shape: [2], [0.5, -0.5], accuracy: 0)
        assertTensor(tensors["scalar"]!, shape: [], [42], accuracy: 0)
    }

    // MARK: damaged files

    func testTruncatedFilesFailWithOneLine() throws {
        let path = folder + "/t.safetensors"
        try sample().write(to: path)
        let bytes = Array(FileManager.default.contents(atPath: path)!)
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8
        assertMalformed([], contains: "shorter than the 8-byte header length")
        assertMalformed(Array(bytes[0..<5]), contains: "shorter than the 8-byte header length")
        assertMalformed(Array(bytes[0..<8]), contains: "runs past the end")
        assertMalformed(Array(bytes[0..<(headerEnd - 1)]), contains: "runs past the end")
        assertMalformed(Array(bytes[0..<headerEnd]), contains: "truncated?")
        assertMalformed(Array(bytes.dropLast()), contains: "truncated?")
        // Every cut point fails cleanly (no crash, always an error).
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            XCTAssertThrowsError(try SafeTensors.decode(Array(bytes[0..<cut])), "cut at \(cut)")
        }
    }

    func testTamperedFilesFail() throws {
        func file(_ header: String, data: [UInt8] = []) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 8)
            let h = Array(header.utf8)
            for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: h.count >> (8 * i)) }
            return bytes + h + data
        }
        let four = [UInt8](repeating: 0, count: 4)
        assertMalformed(
            file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#, data: four), contains: "not valid JSON")
        assertMalformed(file(#"[1,2]"#), contains: "not a JSON object")
        assertMalformed(
            file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: four), contains: "needs 8 bytes")
        assertMalformed(
            file(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: four), contains: "no valid shape")
        assertMalformed(
            file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four), contains: "no valid shape")
        assertMalformed(file(#"{"a":{"dtype":"F32","shape":[1]}}"#, data: four), contains: "no valid data_offsets")
        assertMalformed(
            file(#"{"a":{"dtype":"Q99","shape":[1],"data_offsets":[0,4]}}"#, data: four), contains: "unknown dtype")
        assertMalformed(
            file(
                #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                data: four), contains: "overlaps")
        assertMalformed(
            file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: four + four), contains: "gap")
        assertMalformed(
            file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: four + four), contains: "cover 4")
        assertMalformed(file(#"{"__metadata__":{"k":3}}"#), contains: "not a string")
        assertMalformed(
            file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0]), contains: "truncated?")
        assertMalformed(
            file(#"{"a":{"dtype":"F64","shape":[1073741824,2147483648],"data_offsets":[0,4]}}"#, data: four),
            contains: "needs too many bytes")
        assertMalformed(
            file(#"{"a":{"dtype":"F32","shape":[4000000000000000,4000000000],"data_offsets":[0,4]}}"#, data: four),
            contains: "overflows")
        // A huge header length in an otherwise short file.
        assertMalformed([0, 0, 0, 0, 0, 0, 1, 0] + four, contains: "exceeds the 100 MB limit")
        assertMalformed([0xFF, 0, 0, 0, 0, 0, 0, 0] + four, contains: "runs past the end")
        // A valid file with a dtype Cortex does not read.
        XCTAssertThrowsError(
            try SafeTensors.decode(
                file(#"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: four), path: "h")
        ) {
            XCTAssertEqual("\($0)", "h: tensor 'h' has dtype F16; Cortex reads F32 only")
        }
        // Random garbage never crashes.
        var generator = RandomGenerator(seed: 3)
        for length in [0, 3, 8, 9, 64, 1000] {
            let garbage = (0..<length).map { _ in UInt8(generator.nextInt(below: 256)) }
            XCTAssertThrowsError(try SafeTensors.decode(garbage))
        }
        // A plain text file.
        assertMalformed(Array("hello, this is not a checkpoint at all\n".utf8), contains: "exceeds the 100 MB limit")
    }

    func testMissingFileIsAnIOError() {
        XCTAssertThrowsError(try SafeTensors.read(from: folder + "/nothing.safetensors")) { error in
            XCTAssertEqual("\(error)", "cannot open \(folder!)/nothing.safetensors: No such file or directory")
        }
    }

    // MARK: modules

    func testModuleSaveLoadRoundTrip() throws {
        let path = folder + "/model.safetensors"
        let source = TinyStateNet(seed: 1)
        source.norm.runningMean.storage.pointer[0] = 9
        try Checkpoint.save(source, metadata: ["epoch": "3"], to: path)
        let target = TinyStateNet(seed: 2)
        XCTAssertNotEqual(bits(target.weight), bits(source.weight))
        let metadata = try Checkpoint.load(into: target, from: path)
        XCTAssertEqual(metadata, ["epoch": "3", "format": "pt"])
        for ((name, a), (_, b)) in zip(source.stateDict(), target.stateDict()) {
            XCTAssertEqual(bits(a), bits(b), name)
        }
        XCTAssertEqual(target.stateDict().map(\.name), ["weight", "bias", "norm.weight", "norm.running_mean"])
    }

    func testMismatchesAreReportedTogether() throws {
        let path = folder + "/other.safetensors"
        try SafeTensors(tensors: [
            ("weight", Tensor.zeros([3, 2])), ("bias", Tensor.zeros([2])),
            ("norm.weight", Tensor.zeros([5])), ("extra", Tensor.zeros([1]))
        ]).write(to: path)
        let target = TinyStateNet(seed: 2)
        let before = bits(target.bias)
        XCTAssertThrowsError(try Checkpoint.load(into: target, from: path)) { error in
            XCTAssertEqual(
                "\(error)",
                "checkpoint does not fit the model: missing 1: norm.running_mean; unexpected 1: extra; "
                    + "shape mismatch 2: weight expects [2, 3] but file has [3, 2], norm.weight expects [2] but file has [5]"
            )
        }
        // Nothing was copied, not even the tensor that fitted.
        XCTAssertEqual(bits(target.bias), before)
        // Non-strict loading ignores missing and unexpected keys but not shapes.
        XCTAssertThrowsError(try Checkpoint.load(into: target, from: path, strict: false)) { error in
            XCTAssertFalse("\(error)".contains("missing"))
            XCTAssertTrue("\(error)".contains("shape mismatch 2"))
        }
    }

    /// `steps` optimizer steps on ½‖θ‖², whose gradient is θ for every parameter.
    private func train(_ net: TinyStateNet, _ optimizer: Optimizer, steps: Int) {
        for _ in 0..<steps {
            for p in net.parameters() { p.grad = p.copy() }
            optimizer.step()
        }
    }

    func testModelAndOptimizerCheckpointResumesTraining() throws {
        let path = folder + "/run.safetensors"
        let straight = TinyStateNet(seed: 5)
        train(straight, Adam(straight.parameterGroups(), learningRate: 0.01), steps: 4)

        let first = TinyStateNet(seed: 5)
        let firstOptimizer = Adam(first.parameterGroups(), learningRate: 0.01)
        train(first, firstOptimizer, steps: 2)
        try Checkpoint.save(first, optimizer: firstOptimizer, to: path)
        let names = try SafeTensors.read(from: path).tensors.map(\.name)
        XCTAssertTrue(names.contains("optimizer.norm.weight.exp_avg_sq"), "\(names)")

        let resumed = TinyStateNet(seed: 99)
        let resumedOptimizer = Adam(resumed.parameterGroups(), learningRate: 0.5)
        try Checkpoint.load(into: resumed, optimizer: resumedOptimizer, from: path)
        XCTAssertEqual(resumedOptimizer.learningRate, 0.01)
        XCTAssertEqual(resumedOptimizer.stepCount, 2)
        train(resumed, resumedOptimizer, steps: 2)
        for ((name, a), (_, b)) in zip(straight.stateDict(), resumed.stateDict()) {
            XCTAssertEqual(bits(a), bits(b), name)
        }
    }

    func testCorruptOptimizerCountersFailCleanly() throws {
        let path = folder + "/counters.safetensors"
        let net = TinyStateNet(seed: 1)
        try SafeTensors(tensors: net.stateDict(), metadata: ["optimizer.step": "1e300"]).write(to: path)
        XCTAssertThrowsError(try Checkpoint.load(into: net, optimizer: Adam(net.parameterGroups()), from: path)) {
            XCTAssertEqual(
                "\($0)",
                "\(path) is not a valid safetensors file: optimizer value 'step' = 1e+300 is not a valid count or rate")
        }
        try SafeTensors(tensors: net.stateDict(), metadata: ["optimizer.step": "many"]).write(to: path)
        XCTAssertThrowsError(try Checkpoint.load(into: net, optimizer: Adam(net.parameterGroups()), from: path)) {
            XCTAssertEqual(
                "\($0)", "\(path) is not a valid safetensors file: metadata 'optimizer.step' = 'many' is not a number")
        }
    }

    // MARK: Python interoperability (scripts/python-interop; skipped without python3, safetensors, numpy)

    func testPythonReadsWhatCortexWrites() throws {
        let path = folder + "/for-python.safetensors"
        try sample().write(to: path)
        let output = try pythonInterop(["read-safetensors", path])
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        XCTAssertEqual(json["metadata"] as? [String: String], sample().metadata)
        let tensors = json["tensors"] as! [String: [String: Any]]
        XCTAssertEqual(Set(tensors.keys), Set(sample().dictionary.keys))
        for (name, tensor) in sample().dictionary {
            let entry = tensors[name]!
            XCTAssertEqual(entry["shape"] as? [Int], tensor.shape, name)
            XCTAssertEqual(entry["dtype"] as? String, "float32", name)
            let values = (entry["values"] as! [Double]).map { Float($0).bitPattern }
            XCTAssertEqual(values, bits(tensor), name)
        }
    }

    func testCortexReadsWhatPythonWrites() throws {
        let path = folder + "/from-python.safetensors"
        _ = try pythonInterop(["write-safetensors", path])
        let file = try SafeTensors.read(from: path)
        XCTAssertEqual(file.metadata, ["config": #"{"n": 1}"#])
        let tensors = file.dictionary
        assertTensor(
            tensors["blocks.0.attn.qkv.weight"]!, shape: [3, 4], (0..<12).map { Float(Double($0) / 7) }, accuracy: 0)
        assertTensor(tensors["z"]!, shape: [2], [-1, 2.5], accuracy: 0)
    }

    /// A model and its Adam state saved by Cortex, loaded and saved again by Python's
    /// `safetensors`, resume in Cortex exactly as from the original file.
    func testCheckpointResavedByPythonResumesTraining() throws {
        let straight = TinyStateNet(seed: 3)
        train(straight, Adam(straight.parameterGroups(), learningRate: 0.1), steps: 3)

        let first = TinyStateNet(seed: 3)
        let firstOptimizer = Adam(first.parameterGroups(), learningRate: 0.1)
        train(first, firstOptimizer, steps: 1)
        let path = folder + "/cortex.safetensors", resaved = folder + "/python.safetensors"
        try Checkpoint.save(first, optimizer: firstOptimizer, metadata: ["note": "resaved"], to: path)
        _ = try pythonInterop(["resave-safetensors", path, resaved])

        let resumed = TinyStateNet(seed: 99)
        let resumedOptimizer = Adam(resumed.parameterGroups(), learningRate: 0.5)
        XCTAssertEqual(
            try Checkpoint.load(into: resumed, optimizer: resumedOptimizer, from: resaved)["note"], "resaved")
        train(resumed, resumedOptimizer, steps: 2)
        for ((name, a), (_, b)) in zip(straight.stateDict(), resumed.stateDict()) {
            XCTAssertEqual(bits(a), bits(b), name)
        }
    }
}

import ArgumentParser
import Cortex
import Foundation
import Models

/// `cortex bench allreduce`: the gradient allreduce of data-parallel training on one model's
/// parameters, run under `mpirun`: the bucketed average `DataParallel` uses, the same with one
/// allreduce per tensor, and one flat allreduce of all the floats (what
/// `scripts/reference/allreduce.c` times in C), in interleaved rounds.
struct BenchAllreduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Gradient allreduce under mpirun: bucketed vs per tensor vs one flat MPI_Allreduce.",
        discussion: """
            Every rank fills the model's gradients with (rank + 1) * ((i + 7p) mod 13) - 6 for element \
            i of parameter p, weighted 1/ranks, so the average is exact; --save writes each rank's \
            averaged gradients (bucketed and per tensor, float32, in parameter order) for a check.
            """)

    enum ModelChoice: String, ExpressibleByArgument, CaseIterable {
        case vit, gpt, lenet
    }

    @Option(help: "Whose parameters: \(ModelChoice.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: ModelChoice = .vit
    @Option(help: "Timed rounds (each times the three variants once; medians are reported).")
    var rounds = 50
    @Option(help: "Calls of one variant in a row before the next variant's (1 interleaves call by call; the C loop makes all its calls in a row).")
    var block = 10
    @Option(help: "Floats per fused bucket.")
    var bucket = DataParallel.defaultBucketCapacity
    @Option(help: "Folder for each rank's averaged gradients (rank<r>-bucketed.f32, rank<r>-per-tensor.f32).")
    var save: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        guard block >= 1 else { throw ValidationError("--block must be at least 1, got \(block)") }
        guard bucket >= 1 else { throw ValidationError("--bucket must be at least 1, got \(bucket)") }
    }

    func run() throws {
        try reportingFailures("bench allreduce") {
            Runtime.configure(threads: common.threads)
            let group = try ProcessGroup.start()
            defer { ProcessGroup.finish(group) }
            let parameters = Self.parameters(of: model, seed: common.seed)
            let bucketed = DataParallel(parameters: parameters, communicator: group, bucketCapacity: bucket)
            let perTensor = DataParallel(parameters: parameters, communicator: group, bucketCapacity: 0)
            let total = parameters.reduce(0) { $0 + $1.tensor.count }
            if group.isRoot {
                printError(
                    "bench allreduce: \(model.rawValue), \(total) floats in \(parameters.count) tensors, \(group.size) rank(s), \(bucketed.buckets.count) bucket(s) of up to \(bucket) floats, \(rounds) rounds"
                )
            }
            func fill() {
                for (p, (_, tensor)) in parameters.enumerated() {
                    let gradient = Tensor.zeros(tensor.shape)
                    let g = gradient.storage.pointer
                    for i in 0..<tensor.count { g[i] = Float((group.rank + 1) * ((i + 7 * p) % 13) - 6) }
                    tensor.grad = gradient
                }
            }
            func gradients() -> [Float] { parameters.flatMap { $0.tensor.grad!.scalars } }
            if let save {
                try FileManager.default.createDirectory(atPath: save, withIntermediateDirectories: true)
                for (name, parallel) in [("bucketed", bucketed), ("per-tensor", perTensor)] {
                    fill()
                    try parallel.averageGradients(localCount: 1, globalCount: group.size)
                    let values = gradients()
                    try values.withUnsafeBytes { Data($0) }.write(
                        to: URL(fileURLWithPath: "\(save)/rank\(group.rank)-\(name).f32"))
                }
            }
            var flat = [Float](repeating: 1, count: total)
            var times: [String: [Double]] = ["bucketed": [], "per_tensor": [], "flat": []]
            func timed(_ name: String, _ body: () throws -> Void) throws {
                try group.barrier()
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times[name]!.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            fill()
            var done = 0
            while done < rounds {
                let calls = min(block, rounds - done)
                for _ in 0..<calls {
                    try timed("bucketed") { try bucketed.averageGradients(localCount: 1, globalCount: group.size) }
                }
                for _ in 0..<calls {
                    try timed("per_tensor") { try perTensor.averageGradients(localCount: 1, globalCount: group.size) }
                }
                for _ in 0..<calls {
                    try timed("flat") { try flat.withUnsafeMutableBufferPointer { try group.allreduceSum($0) } }
                }
                done += calls
            }
            let medians = times.mapValues { $0.sorted()[$0.count / 2] }
            guard group.isRoot else { return }
            print(
                String(
                    format: "%@: %d floats, %d ranks: bucketed %.3f ms, per tensor %.3f ms, flat %.3f ms (medians of %d)",
                    model.rawValue, total, group.size, medians["bucketed"]!, medians["per_tensor"]!, medians["flat"]!,
                    rounds))
            if common.json {
                printJSON([
                    "model": model.rawValue, "floats": total, "tensors": parameters.count, "ranks": group.size,
                    "buckets": bucketed.buckets.count, "bucketed_ms": medians["bucketed"]!,
                    "per_tensor_ms": medians["per_tensor"]!, "flat_ms": medians["flat"]!, "rounds": rounds
                ])
            }
        }
    }

    /// The parameters of the model as `cortex train` builds it on its default data.
    static func parameters(of model: ModelChoice, seed: UInt64) -> [NamedTensor] {
        var generator = RandomGenerator(seed: seed)
        switch model {
        case .vit: return VisionTransformer(ViTConfig(), generator: &generator).namedParameters()
        case .lenet: return LeNet5(LeNetConfig(), generator: &generator).namedParameters()
        case .gpt: return GPT(config: GPTConfig(), generator: &generator).namedParameters()
        }
    }
}

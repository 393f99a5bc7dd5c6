import Cortex

extension GPT {
    /// Cortex's key for a nanoGPT key's tensor, for every block: nanoGPT's `model.py` names its
    /// modules `transformer.{wte, wpe, h.{i}.{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
    /// mlp.c_proj}, ln_f}` and `lm_head` (tied to `wte`).
    static let nanoGPTNames: [(cortex: String, nanoGPT: String)] = [
        ("norm1", "ln_1"), ("attn.qkv", "attn.c_attn"), ("attn.proj", "attn.c_proj"), ("norm2", "ln_2"),
        ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")
    ]

    /// A GPT's tensors (`wte.weight`, `blocks.0.attn.qkv.weight`, … as `namedParameters()`
    /// gives them) under nanoGPT's names, which `GPT.load_state_dict(strict=True)` of nanoGPT
    /// (Karpathy 2022, `model.py`) accepts: the same layouts (`nn.Linear`'s [out, in], q, k, v
    /// in that order along `c_attn`'s rows), with the tied head written out as `lm_head.weight`.
    /// Returns nil when a tensor is not a GPT's.
    public static func nanoGPTStateDict(_ tensors: [NamedTensor]) -> [NamedTensor]? {
        var result: [NamedTensor] = []
        for (name, tensor) in tensors {
            if name == "wte.weight" || name == "wpe.weight" || name.hasPrefix("ln_f.") {
                result.append(("transformer." + name, tensor))
                if name == "wte.weight" { result.append(("lm_head.weight", tensor)) }
                continue
            }
            let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[0] == "blocks", Int(parts[1]) != nil,
                let mapped = nanoGPTNames.first(where: { parts[2].hasPrefix($0.cortex + ".") })
            else { return nil }
            let rest = parts[2].dropFirst(mapped.cortex.count)
            result.append(("transformer.h.\(parts[1]).\(mapped.nanoGPT)\(rest)", tensor))
        }
        return result
    }
}

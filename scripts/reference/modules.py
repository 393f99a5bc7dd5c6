#!/usr/bin/env python3
"""PyTorch modules with the attribute names of Cortex's checkpoints, and a strict load check.

    /usr/bin/python3 scripts/reference/modules.py check FILE

reads a `.safetensors` file written by `cortex export` (or any Cortex checkpoint; `optimizer.*`
tensors are left out), builds the PyTorch module its metadata describes, loads the tensors with
`load_state_dict(strict=True)` (every expected key present, none unexpected, shapes equal) and
runs it on a fixed input (`probe` below). Prints one JSON object: {"kind", "keys", "output"}.
Exit status 1 with the loader's message when the load fails, 77 when torch is missing.

Kinds: `pqn` and `dqn` (MinAtar grid networks; PQN with its LayerNorms), `lenet`, `vit` (timm's
VisionTransformer names), `detector` (nn.Sequential backbone and a 1x1 head), `gpt` (nanoGPT's model.py names, from `cortex export --format nanogpt`).
Needs torch and numpy: Debian's python3-torch works.
"""
import json, math, struct, sys

try:
    import numpy as np
    import torch, torch.nn as nn, torch.nn.functional as F
except ImportError as e:
    print(f"modules.py: {e}", file=sys.stderr)
    sys.exit(77)


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop('__metadata__', {})
    tensors = {}
    for name, t in header.items():
        if name.startswith('optimizer.'):
            continue
        assert t['dtype'] == 'F32', f"{name}: dtype {t['dtype']}"
        lo, hi = t['data_offsets']
        tensors[name] = torch.from_numpy(np.frombuffer(data[lo:hi], dtype='<f4').copy().reshape(t['shape']))
    return meta, tensors


def probe(count):
    """The fixed input both sides use: x_i = ((37 i) mod 101) / 101 − 0.5."""
    return torch.tensor([((37 * i) % 101) / 101 - 0.5 for i in range(count)], dtype=torch.float32)


class MinAtarQ(nn.Module):
    """MinAtar's QNetwork (Young & Tian 2019); with `norm`, PQN's LayerNorm after conv and hidden."""
    def __init__(s, channels, actions, norm):
        super().__init__()
        s.conv = nn.Conv2d(channels, 16, 3)
        s.fc_hidden = nn.Linear(16 * 8 * 8, 128)
        s.output = nn.Linear(128, actions)
        s.norm = norm
        if norm:
            s.conv_norm = nn.LayerNorm([16, 8, 8]); s.fc_norm = nn.LayerNorm(128)
    def forward(s, x):
        x = s.conv(x)
        x = F.relu(s.conv_norm(x) if s.norm else x).flatten(1)
        x = s.fc_hidden(x)
        return s.output(F.relu(s.fc_norm(x) if s.norm else x))


class LeNet(nn.Module):
    def __init__(s, channels, classes, size):
        super().__init__()
        s.conv1 = nn.Conv2d(channels, 6, 5, padding=2); s.conv2 = nn.Conv2d(6, 16, 5)
        side = ((size + 4 - 4) // 2 - 4) // 2
        s.fc1 = nn.Linear(16 * side * side, 120); s.fc2 = nn.Linear(120, 84); s.fc3 = nn.Linear(84, classes)
    def forward(s, x):
        x = F.max_pool2d(F.relu(s.conv1(x)), 2)
        x = F.max_pool2d(F.relu(s.conv2(x)), 2).flatten(1)
        return s.fc3(F.relu(s.fc2(F.relu(s.fc1(x)))))


class Attention(nn.Module):
    def __init__(s, dim, heads, causal=False, names=('qkv', 'proj')):
        super().__init__()
        s.heads, s.causal, s.names = heads, causal, names
        setattr(s, names[0], nn.Linear(dim, 3 * dim)); setattr(s, names[1], nn.Linear(dim, dim))
    def forward(s, x):
        B, T, C = x.shape
        q, k, v = getattr(s, s.names[0])(x).split(C, dim=2)
        q, k, v = (t.view(B, T, s.heads, C // s.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // s.heads)
        if s.causal:
            att = att.masked_fill(torch.ones(T, T).tril() == 0, float('-inf'))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        return getattr(s, s.names[1])(y)


class Mlp(nn.Module):
    def __init__(s, dim, hidden, names=('fc1', 'fc2')):
        super().__init__()
        s.names = names
        setattr(s, names[0], nn.Linear(dim, hidden)); setattr(s, names[1], nn.Linear(hidden, dim))
    def forward(s, x): return getattr(s, s.names[1])(F.gelu(getattr(s, s.names[0])(x)))


class ViTBlock(nn.Module):
    def __init__(s, dim, heads, hidden):
        super().__init__()
        s.norm1 = nn.LayerNorm(dim); s.attn = Attention(dim, heads); s.norm2 = nn.LayerNorm(dim); s.mlp = Mlp(dim, hidden)
    def forward(s, x):
        x = x + s.attn(s.norm1(x)); return x + s.mlp(s.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(s, channels, dim, patch):
        super().__init__(); s.proj = nn.Conv2d(channels, dim, patch, stride=patch)
    def forward(s, x): return s.proj(x).flatten(2).transpose(1, 2)


class ViT(nn.Module):
    """timm's VisionTransformer layout: class token, learned positions, pre-norm blocks, head on the class token."""
    def __init__(s, c):
        super().__init__()
        d, n = c['dimension'], (c['imageSize'] // c['patchSize']) ** 2
        s.patch_embed = PatchEmbed(c['channels'], d, c['patchSize'])
        s.cls_token = nn.Parameter(torch.zeros(1, 1, d)); s.pos_embed = nn.Parameter(torch.zeros(1, n + 1, d))
        s.blocks = nn.ModuleList([ViTBlock(d, c['heads'], c['mlpDimension']) for _ in range(c['depth'])])
        s.norm = nn.LayerNorm(d); s.head = nn.Linear(d, c['classes'])
    def forward(s, x):
        x = s.patch_embed(x)
        x = torch.cat([s.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + s.pos_embed
        for b in s.blocks:
            x = b(x)
        return s.head(s.norm(x)[:, 0])


class GPTBlock(nn.Module):
    def __init__(s, dim, heads):
        super().__init__()
        s.ln_1 = nn.LayerNorm(dim); s.attn = Attention(dim, heads, causal=True, names=('c_attn', 'c_proj'))
        s.ln_2 = nn.LayerNorm(dim); s.mlp = Mlp(dim, 4 * dim, names=('c_fc', 'c_proj'))
    # bias=False models (nanoGPT's default) would need LayerNorm without bias: not exported by Cortex's default GPT.
    def forward(s, x):
        x = x + s.attn(s.ln_1(x)); return x + s.mlp(s.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's model.py (bias=True), lm_head tied to wte."""
    def __init__(s, vocab, block, layers, dim, heads):
        super().__init__()
        s.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, dim), wpe=nn.Embedding(block, dim),
            h=nn.ModuleList([GPTBlock(dim, heads) for _ in range(layers)]), ln_f=nn.LayerNorm(dim)))
        s.lm_head = nn.Linear(dim, vocab, bias=False)
        s.transformer.wte.weight = s.lm_head.weight
    def forward(s, idx):
        t = s.transformer
        x = t.wte(idx) + t.wpe(torch.arange(idx.shape[1]))
        for b in t.h:
            x = b(x)
        return s.lm_head(t.ln_f(x))


class Detector(nn.Module):
    """Cortex's one-stage detector (Sources/Models/Vision/Detector.swift): conv-BN-ReLU stages with
    max pooling between them, a 1x1 head of anchors x (tx, ty, tw, th, objectness, classes)."""
    def __init__(s, c):
        super().__init__()
        layers, cin = [], c['channels']
        for stage, (width, count) in enumerate(zip(c['widths'], c['convolutions'])):
            if stage > 0: layers.append(nn.MaxPool2d(2))
            for _ in range(count):
                layers += [nn.Conv2d(cin, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
                cin = width
        s.backbone = nn.Sequential(*layers)
        s.head = nn.Conv2d(cin, len(c['anchors']) * (5 + c['classes']), 1)
    def forward(s, x): return s.head(s.backbone(x))


def build(meta, tensors):
    """The module the file describes, its kind, and the output on the probe input."""
    if meta.get('cortex.algorithm') in ('pqn', 'dqn') or 'dqn.config' in meta:
        kind = 'pqn' if meta.get('cortex.algorithm') == 'pqn' else 'dqn'
        conv = tensors['conv.weight']
        module = MinAtarQ(conv.shape[1], tensors['output.weight'].shape[0], norm=kind == 'pqn')
        return kind, module, lambda m: m(probe(conv.shape[1] * 100).view(1, conv.shape[1], 10, 10))
    if meta.get('model') in ('lenet', 'vit'):
        c = json.loads(meta['config'])
        module = LeNet(c['channels'], c['classes'], c['imageSize']) if meta['model'] == 'lenet' else ViT(c)
        shape = (2, c['channels'], c['imageSize'], c['imageSize'])
        return meta['model'], module, lambda m: m(probe(math.prod(shape)).view(shape))
    if meta.get('model') == 'detector':
        c = json.loads(meta['config'])
        shape = (2, c['channels'], c['imageSize'], c['imageSize'])
        return 'detector', Detector(c), lambda m: m(probe(math.prod(shape)).view(shape))
    if 'lm_head.weight' in tensors:
        vocab, dim = tensors['lm_head.weight'].shape
        block = tensors['transformer.wpe.weight'].shape[0]
        layers = len({k.split('.')[2] for k in tensors if k.startswith('transformer.h.')})
        args = json.loads(meta['model_args'])
        if not args['bias']:
            raise SystemExit("modules.py: only GPTs with biases (Cortex's default) have a reference module here")
        heads = args['n_head']
        module = GPT(vocab, block, layers, dim, heads)
        idx = torch.tensor([[(7 * i + 3) % vocab for i in range(block)]])
        return 'gpt', module, lambda m: F.cross_entropy(m(idx[:, :-1]).flatten(0, 1), idx[0, 1:]).view(1)
    raise SystemExit(f"modules.py: no reference module for this file (metadata keys {sorted(meta)[:8]})")


def main():
    if len(sys.argv) != 3 or sys.argv[1] != 'check':
        print(__doc__, file=sys.stderr); sys.exit(64)
    meta, tensors = read_safetensors(sys.argv[2])
    kind, module, run = build(meta, tensors)
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        print(f"modules.py: {sys.argv[2]}: {e}".replace('\n', ' '), file=sys.stderr); sys.exit(1)
    module.eval()
    with torch.no_grad():
        out = run(module)
    print(json.dumps({'kind': kind, 'keys': sorted(tensors), 'output': out.flatten().tolist()}))


if __name__ == '__main__':
    main()

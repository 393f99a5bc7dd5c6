#!/usr/bin/env python3
"""The GPT recipe of `cortex train text` in PyTorch, to compare the two on the same machine.

Follows nanoGPT's model.py and train.py (Karpathy; config/train_shakespeare_char.py with the CPU
overrides of its README: 4 layers, 4 heads, 128-dim embeddings, block 64, batch 12, dropout 0,
AdamW 1e-3 with betas 0.9/0.99 and weight decay 0.1 on rank-2 tensors, 100 warmup iterations,
cosine to 1e-4 over 2000, clip 1.0), with nanoGPT's explicit-softmax attention path so it runs on
Debian's python3-torch (1.13): `sudo apt-get install python3-torch`, then

    /usr/bin/python3 scripts/reference/gpt.py --seed 0 --bias 1

prints the train and validation loss every 250 iterations, each the mean of --eval_iters random
batches (nanoGPT's estimate_loss).
"""
import math, sys, time, argparse
import torch, torch.nn as nn, torch.nn.functional as F
p = argparse.ArgumentParser()
p.add_argument('--seed', type=int, default=1337); p.add_argument('--bias', type=int, default=0)
p.add_argument('--iters', type=int, default=2000); p.add_argument('--eval_iters', type=int, default=200)
p.add_argument('--eval_interval', type=int, default=250); p.add_argument('--threads', type=int, default=1)
p.add_argument('--data', default='../shared/data/tinyshakespeare.txt')
a = p.parse_args()
torch.set_num_threads(a.threads)
text = open(a.data, encoding='utf-8').read()
chars = sorted(set(text)); stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(data)); train_data, val_data = data[:n], data[n:]
block_size, batch_size, n_layer, n_head, n_embd, V = 64, 12, 4, 4, 128, len(chars)
lr0, min_lr, warmup, decay_iters, wd, b2, clip = 1e-3, 1e-4, 100, 2000, 0.1, 0.99, 1.0
torch.manual_seed(a.seed)
class LN(nn.Module):
    def __init__(s, nd, bias):
        super().__init__(); s.weight = nn.Parameter(torch.ones(nd)); s.bias = nn.Parameter(torch.zeros(nd)) if bias else None
    def forward(s, x): return F.layer_norm(x, s.weight.shape, s.weight, s.bias, 1e-5)
class Attn(nn.Module):
    def __init__(s):
        super().__init__(); s.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=a.bias); s.c_proj = nn.Linear(n_embd, n_embd, bias=a.bias)
        s.register_buffer('mask', torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size), persistent=False)
    def forward(s, x):
        B, T, C = x.size(); q, k, v = s.c_attn(x).split(n_embd, dim=2)
        k = k.view(B, T, n_head, C // n_head).transpose(1, 2); q = q.view(B, T, n_head, C // n_head).transpose(1, 2); v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(s.mask[:, :, :T, :T] == 0, float('-inf')); att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C); return s.c_proj(y)
class MLP(nn.Module):
    def __init__(s):
        super().__init__(); s.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=a.bias); s.gelu = nn.GELU(); s.c_proj = nn.Linear(4 * n_embd, n_embd, bias=a.bias)
    def forward(s, x): return s.c_proj(s.gelu(s.c_fc(x)))
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.ln_1 = LN(n_embd, a.bias); s.attn = Attn(); s.ln_2 = LN(n_embd, a.bias); s.mlp = MLP()
    def forward(s, x): x = x + s.attn(s.ln_1(x)); return x + s.mlp(s.ln_2(x))
class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.transformer = nn.ModuleDict(dict(wte=nn.Embedding(V, n_embd), wpe=nn.Embedding(block_size, n_embd),
                                            h=nn.ModuleList([Block() for _ in range(n_layer)]), ln_f=LN(n_embd, a.bias)))
        s.lm_head = nn.Linear(n_embd, V, bias=False); s.transformer.wte.weight = s.lm_head.weight
        s.apply(s._init)
        for pn, pp in s.named_parameters():
            if pn.endswith('c_proj.weight'): torch.nn.init.normal_(pp, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))
    def _init(s, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None: torch.nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding): torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
    def forward(s, idx, targets):
        b, t = idx.size(); pos = torch.arange(0, t, dtype=torch.long)
        x = s.transformer.wte(idx) + s.transformer.wpe(pos)
        for blk in s.transformer.h: x = blk(x)
        logits = s.lm_head(s.transformer.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
model = GPT()
params = {pn: pp for pn, pp in model.named_parameters() if pp.requires_grad}
decay = [pp for pn, pp in params.items() if pp.dim() >= 2]; nodecay = [pp for pn, pp in params.items() if pp.dim() < 2]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': wd}, {'params': nodecay, 'weight_decay': 0.0}], lr=lr0, betas=(0.9, b2))
print('params', sum(pp.numel() for pp in params.values()), file=sys.stderr)
def get_batch(split):
    d = train_data if split == 'train' else val_data
    ix = torch.randint(len(d) - block_size, (batch_size,))
    return torch.stack([d[i:i + block_size] for i in ix]), torch.stack([d[i + 1:i + 1 + block_size] for i in ix])
@torch.no_grad()
def estimate_loss():
    out = {}; model.eval()
    for split in ['train', 'val']:
        losses = torch.zeros(a.eval_iters)
        for k in range(a.eval_iters):
            X, Y = get_batch(split); losses[k] = model(X, Y).item()
        out[split] = losses.mean().item(); out[split + '_std'] = losses.std().item()
    model.train(); return out
def get_lr(it):
    if it < warmup: return lr0 * (it + 1) / (warmup + 1)
    if it > decay_iters: return min_lr
    r = (it - warmup) / (decay_iters - warmup); return min_lr + 0.5 * (1.0 + math.cos(math.pi * r)) * (lr0 - min_lr)
X, Y = get_batch('train'); t0 = time.time()
for it in range(a.iters + 1):
    for g in opt.param_groups: g['lr'] = get_lr(it)
    if it % a.eval_interval == 0 or it == a.iters:
        l = estimate_loss(); print(f"step {it}: train loss {l['train']:.4f}, val loss {l['val']:.4f} (batch std {l['val_std']:.3f})", file=sys.stderr, flush=True)
    if it == a.iters: break
    loss = model(X, Y); X, Y = get_batch('train')
    loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), clip); opt.step(); opt.zero_grad(set_to_none=True)
print(f"final seed {a.seed} bias {a.bias}: train {l['train']:.4f} val {l['val']:.4f} ({time.time()-t0:.0f}s)")

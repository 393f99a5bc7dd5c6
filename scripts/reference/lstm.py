#!/usr/bin/env python3
"""The LSTM recipe of `cortex train text --model lstm` in PyTorch, to compare the two on the same
machine: embedding 64, nn.LSTM 2×256, linear head, PyTorch's default initialisation, batches of
32 random 64-character blocks, Adam 2e-3, 1000 iterations, zero initial state per batch.
Needs torch (Debian's python3-torch works):

    /usr/bin/python3 scripts/reference/lstm.py --seed 0

prints the validation loss every 250 iterations (mean of --eval_iters random batches).
"""
import sys, time, argparse, torch, torch.nn as nn, torch.nn.functional as F
p = argparse.ArgumentParser(); p.add_argument('--seed', type=int, default=0); p.add_argument('--iters', type=int, default=1000)
p.add_argument('--eval_iters', type=int, default=200); p.add_argument('--clip', type=float, default=0)
p.add_argument('--data', default='../shared/data/tinyshakespeare.txt')
a = p.parse_args(); torch.set_num_threads(1); torch.manual_seed(a.seed)
text = open(a.data, encoding='utf-8').read()
chars = sorted(set(text)); stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long); n = int(0.9 * len(data)); tr, va = data[:n], data[n:]
T, B, V = 64, 32, len(chars)
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.emb = nn.Embedding(V, 64); s.rnn = nn.LSTM(64, 256, 2, batch_first=True); s.head = nn.Linear(256, V)
    def forward(s, x, y): h, _ = s.rnn(s.emb(x)); return F.cross_entropy(s.head(h).reshape(-1, V), y.reshape(-1))
m = M(); opt = torch.optim.Adam(m.parameters(), lr=2e-3)
def batch(d):
    ix = torch.randint(len(d) - T, (B,)); return torch.stack([d[i:i+T] for i in ix]), torch.stack([d[i+1:i+1+T] for i in ix])
@torch.no_grad()
def est(d):
    m.eval(); l = torch.tensor([m(*batch(d)).item() for _ in range(a.eval_iters)]); m.train(); return l.mean().item(), l.std().item()
t0 = time.time()
for it in range(1, a.iters + 1):
    loss = m(*batch(tr)); opt.zero_grad(); loss.backward()
    if a.clip > 0: nn.utils.clip_grad_norm_(m.parameters(), a.clip)
    opt.step()
    if it % 250 == 0:
        v = est(va); print(f"iter {it}: train batch {loss.item():.4f} val {v[0]:.4f} (batch std {v[1]:.3f})", file=sys.stderr, flush=True)
t = est(tr); print(f"final seed {a.seed}: train {t[0]:.4f} val {v[0]:.4f} ({time.time()-t0:.0f}s)")

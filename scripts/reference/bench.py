#!/usr/bin/env python3
"""The PyTorch side of `cortex bench pytorch`: one workload, timed in this process.

    /usr/bin/python3 scripts/reference/bench.py --workload gpt-train --threads 2 --warmup 3 --repeats 10
    /usr/bin/python3 scripts/reference/bench.py --version

runs `--warmup` untimed calls (and more until `--warmup-seconds` have passed), then `--repeats`
timed ones, and prints one JSON object:
{"workload", "torch", "threads", "warmup", "repeats", "median_ms", "times_ms"}. `--quick` uses
the tiny shapes of the smoke test. Each workload has the shapes, ops and optimizer of its Cortex
counterpart in Sources/cortex/BenchPyTorchWorkloads.swift (docs/speed.md lists them). Exit status 77 when
torch is missing (Debian: `sudo apt-get install python3-torch`, which scripts/setup runs).
"""
import argparse, json, math, statistics, sys, time

try:
    import torch, torch.nn as nn, torch.nn.functional as F
except ImportError as e:
    print(f"bench.py: {e}", file=sys.stderr)
    sys.exit(77)


def version():
    where = torch.__file__
    origin = 'Debian python3-torch' if where.startswith('/usr/lib/python3/dist-packages') else where.rsplit('/torch/', 1)[0]
    return {'torch': torch.__version__.split('+')[0], 'origin': origin,
            'blas': 'mkl' if torch.backends.mkl.is_available() else 'other', 'python': sys.executable}


# MARK: - Networks (the same layers as Cortex's; initialisation does not change the timings)

class MinAtarQ(nn.Module):
    """MinAtar's Q-network: conv 16@3×3, ReLU, linear 1024→128, ReLU, linear 128→A."""
    def __init__(s, channels, actions):
        super().__init__()
        s.conv = nn.Conv2d(channels, 16, 3); s.fc_hidden = nn.Linear(16 * 8 * 8, 128); s.output = nn.Linear(128, actions)
    def forward(s, x): return s.output(F.relu(s.fc_hidden(F.relu(s.conv(x)).flatten(1))))


class NatureQ(nn.Module):
    """The DQN paper's network (Mnih et al. 2015) on 4×84×84 frames."""
    def __init__(s, actions):
        super().__init__()
        s.conv1 = nn.Conv2d(4, 32, 8, 4); s.conv2 = nn.Conv2d(32, 64, 4, 2); s.conv3 = nn.Conv2d(64, 64, 3, 1)
        s.fc_hidden = nn.Linear(3136, 512); s.output = nn.Linear(512, actions)
    def forward(s, x):
        x = F.relu(s.conv3(F.relu(s.conv2(F.relu(s.conv1(x)))))).flatten(1)
        return s.output(F.relu(s.fc_hidden(x)))


def attention(q, k, v, causal):
    """softmax(q·kᵀ/√D + M)·v: the fused op on torch ≥ 2, nanoGPT's explicit path before."""
    if hasattr(F, 'scaled_dot_product_attention'):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
    if causal:
        T, S = q.size(-2), k.size(-2)
        att = att.masked_fill(torch.ones(T, S, dtype=torch.bool).tril(S - T).logical_not(), float('-inf'))
    return att.softmax(-1) @ v


class Attention(nn.Module):
    def __init__(s, dim, heads, causal):
        super().__init__(); s.heads, s.causal = heads, causal
        s.qkv = nn.Linear(dim, 3 * dim); s.proj = nn.Linear(dim, dim)
    def forward(s, x, cache=None):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, s.heads, C // s.heads).transpose(1, 2) for t in s.qkv(x).split(C, dim=2))
        if cache is not None:  # generation: keys and values of the earlier positions
            if 'k' in cache:
                k = torch.cat([cache['k'], k], 2); v = torch.cat([cache['v'], v], 2)
            cache['k'], cache['v'] = k, v
        return s.proj(attention(q, k, v, s.causal).transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    """Pre-norm Transformer block: x + attn(ln(x)), x + mlp(ln(x)) with a GELU MLP."""
    def __init__(s, dim, heads, hidden, causal):
        super().__init__()
        s.ln_1 = nn.LayerNorm(dim); s.attn = Attention(dim, heads, causal); s.ln_2 = nn.LayerNorm(dim)
        s.fc = nn.Linear(dim, hidden); s.proj = nn.Linear(hidden, dim)
    def forward(s, x, cache=None):
        x = x + s.attn(s.ln_1(x), cache)
        return x + s.proj(F.gelu(s.fc(s.ln_2(x))))


class GPT(nn.Module):
    """nanoGPT's model (bias=True, tied head), Cortex's default: 4 layers, 4 heads, 128 dims, block 64."""
    def __init__(s, vocab=65, block=64, layers=4, dim=128, heads=4):
        super().__init__()
        s.wte = nn.Embedding(vocab, dim); s.wpe = nn.Embedding(block, dim)
        s.h = nn.ModuleList([Block(dim, heads, 4 * dim, True) for _ in range(layers)]); s.ln_f = nn.LayerNorm(dim)
        s.lm_head = nn.Linear(dim, vocab, bias=False); s.wte.weight = s.lm_head.weight
    def forward(s, idx, start=0, caches=None):
        x = s.wte(idx) + s.wpe(torch.arange(start, start + idx.shape[1]))
        for i, b in enumerate(s.h):
            x = b(x, None if caches is None else caches[i])
        return s.lm_head(s.ln_f(x))


class CharLSTM(nn.Module):
    """Embedding 64 → nn.LSTM 2×256 → linear head, as `cortex train text --model lstm`."""
    def __init__(s, vocab=65):
        super().__init__(); s.emb = nn.Embedding(vocab, 64); s.rnn = nn.LSTM(64, 256, 2, batch_first=True); s.head = nn.Linear(256, vocab)
    def forward(s, x): return s.head(s.rnn(s.emb(x))[0])


class LeNet(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv1 = nn.Conv2d(1, 6, 5, padding=2); s.conv2 = nn.Conv2d(6, 16, 5)
        s.fc1 = nn.Linear(16 * 5 * 5, 120); s.fc2 = nn.Linear(120, 84); s.fc3 = nn.Linear(84, 10)
    def forward(s, x):
        x = F.max_pool2d(F.relu(s.conv1(x)), 2)
        x = F.max_pool2d(F.relu(s.conv2(x)), 2).flatten(1)
        return s.fc3(F.relu(s.fc2(F.relu(s.fc1(x)))))


class ViT(nn.Module):
    """Cortex's ViT default: patch 4 on 28×28, dim 64, depth 4, heads 4, MLP 128, class token."""
    def __init__(s, dim=64, depth=4, heads=4, hidden=128, patch=4, size=28, classes=10):
        super().__init__()
        n = (size // patch) ** 2
        s.patch_embed = nn.Conv2d(1, dim, patch, stride=patch)
        s.cls_token = nn.Parameter(torch.zeros(1, 1, dim)); s.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        s.blocks = nn.ModuleList([Block(dim, heads, hidden, False) for _ in range(depth)])
        s.norm = nn.LayerNorm(dim); s.head = nn.Linear(dim, classes)
    def forward(s, x):
        x = s.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([s.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + s.pos_embed
        for b in s.blocks:
            x = b(x)
        return s.head(s.norm(x)[:, 0])


def decay_groups(model, wd):
    """Weight decay on rank ≥ 2 tensors only (Cortex's weightDecayGroups, nanoGPT's configure_optimizers)."""
    ps = [p for p in model.parameters() if p.requires_grad]
    return [{'params': [p for p in ps if p.dim() >= 2], 'weight_decay': wd},
            {'params': [p for p in ps if p.dim() < 2], 'weight_decay': 0.0}]


# MARK: - Workloads: each returns the function one timed call runs

def matmul(n):
    def make(quick):
        m = 64 if quick else n
        a, b = torch.randn(m, m), torch.randn(m, m)
        return lambda: torch.mm(a, b)
    return make


def dqn(nature):
    """One Double-DQN update (van Hasselt et al. 2016) on a fixed batch of 32: Huber loss,
    gradient norm clipped at 10, Adam 1e-4 with ε 1.5e-4 (Cortex's DQNAgent.update)."""
    def make(quick):
        shape, actions = ((4, 84, 84), 4) if nature else ((4, 10, 10), 3)
        batch = 2 if quick else 32
        online = NatureQ(actions) if nature else MinAtarQ(4, actions)
        target = NatureQ(actions) if nature else MinAtarQ(4, actions)
        target.load_state_dict(online.state_dict())
        opt = torch.optim.Adam(online.parameters(), lr=1e-4, eps=1.5e-4)
        s = (torch.rand(batch, *shape) < 0.2).float(); s2 = (torch.rand(batch, *shape) < 0.2).float()
        a = torch.randint(actions, (batch, 1)); r = torch.rand(batch); d = torch.full((batch,), 0.99)
        def step():
            q = online(s).gather(1, a).squeeze(1)
            with torch.no_grad():
                best = online(s2).argmax(1, keepdim=True)
                y = r + d * target(s2).gather(1, best).squeeze(1)
            loss = F.smooth_l1_loss(q, y)
            opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(online.parameters(), 10); opt.step()
        return step
    return make


class Breakout:
    """MinAtar Breakout with the rules of MinAtar 1.0.15's `breakout.py` (as Cortex's
    envs/MinAtar/Breakout.swift), without sticky actions; actions noop, left, right; `state()` the
    4×10×10 planes paddle, ball, trail, brick."""
    def __init__(s, seed):
        import numpy as np
        s.np, s.rng = np, np.random.RandomState(seed)
        s.reset()
    def reset(s):
        s.ball_y = 3
        s.ball_x, s.dir = (0, 2) if s.rng.randint(2) == 0 else (9, 3)
        s.pos, s.strike, s.terminal = 4, False, False
        s.bricks = s.np.zeros((10, 10), bool); s.bricks[1:4, :] = True
        s.last_x, s.last_y = s.ball_x, s.ball_y
    def step(s, a):
        r = 0.0
        if a == 1: s.pos = max(0, s.pos - 1)
        elif a == 2: s.pos = min(9, s.pos + 1)
        s.last_x, s.last_y = s.ball_x, s.ball_y
        d = s.dir
        nx, ny = s.ball_x + (1 if d in (1, 2) else -1), s.ball_y + (1 if d >= 2 else -1)
        toggle = False
        if nx < 0 or nx > 9:
            nx = min(9, max(0, nx)); d ^= 1
        if ny < 0:
            ny = 0; d = 3 - d
        elif s.bricks[ny, nx]:
            toggle = True
            if not s.strike:
                r += 1; s.strike = True; s.bricks[ny, nx] = False; ny = s.last_y; d = 3 - d
        elif ny == 9:
            if not s.bricks.any(): s.bricks[1:4, :] = True
            if s.ball_x == s.pos: d = 3 - d; ny = s.last_y
            elif nx == s.pos: d ^= 2; ny = s.last_y
            else: s.terminal = True
        if not toggle: s.strike = False
        s.ball_x, s.ball_y, s.dir = nx, ny, d
        return r, s.terminal
    def state(s):
        o = s.np.zeros((4, 10, 10), s.np.float32)
        o[0, 9, s.pos] = 1; o[1, s.ball_y, s.ball_x] = 1; o[2, s.last_y, s.last_x] = 1; o[3] = s.bricks
        return o


LOOP_FRAMES, LOOP_QUICK_FRAMES = 100, 5


def dqn_loop(quick):
    """The whole DQN loop on Breakout, LOOP_FRAMES frames a call (the harness divides per frame):
    ε-greedy action (ε 0.1) from the online net, one step, the transition into a uniform numpy
    replay of 100,000, a batch of 32 drawn, one Double-DQN update (Huber, clip 10, Adam 1e-4 with
    ε 1.5e-4, γ 0.99), the target synced every 1,000 updates; 1,000 frames of random play first."""
    import numpy as np
    batch, capacity = (2 if quick else 32), 100_000
    online, target = MinAtarQ(4, 3), MinAtarQ(4, 3)
    target.load_state_dict(online.state_dict())
    opt = torch.optim.Adam(online.parameters(), lr=1e-4, eps=1.5e-4)
    env, rng = Breakout(0), np.random.RandomState(1)
    obs = np.zeros((capacity, 4, 10, 10), np.uint8); nxt = np.zeros_like(obs)
    act = np.zeros(capacity, np.int64); rew = np.zeros(capacity, np.float32); done = np.zeros(capacity, np.float32)
    st = {'o': env.state(), 'n': 0, 'updates': 0}
    def frame(epsilon, learn):
        o = st['o']
        if rng.rand() < epsilon:
            a = int(rng.randint(3))
        else:
            with torch.no_grad():
                a = int(online(torch.from_numpy(o)[None]).argmax(1))
        r, terminal = env.step(a)
        o2 = env.state()
        i = st['n'] % capacity
        obs[i], nxt[i], act[i], rew[i], done[i] = o, o2, a, r, float(terminal)
        st['n'] += 1
        if terminal:
            env.reset(); o2 = env.state()
        st['o'] = o2
        if not learn:
            return
        idx = rng.randint(min(st['n'], capacity), size=batch)
        s = torch.from_numpy(obs[idx]).float(); s2 = torch.from_numpy(nxt[idx]).float()
        q = online(s).gather(1, torch.from_numpy(act[idx])[:, None]).squeeze(1)
        with torch.no_grad():
            best = online(s2).argmax(1, keepdim=True)
            y = torch.from_numpy(rew[idx]) + 0.99 * (1 - torch.from_numpy(done[idx])) * target(s2).gather(1, best).squeeze(1)
        loss = F.smooth_l1_loss(q, y)
        opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(online.parameters(), 10); opt.step()
        st['updates'] += 1
        if st['updates'] % 1000 == 0:
            target.load_state_dict(online.state_dict())
    for _ in range(50 if quick else 1000):
        frame(1.0, False)
    frames = LOOP_QUICK_FRAMES if quick else LOOP_FRAMES
    def run():
        for _ in range(frames):
            frame(0.1, True)
    return run


def nature_forward(quick):
    """The Nature network's forward pass without a graph on 32 frames (acting, the update's passes over s')."""
    net = NatureQ(4)
    frames = (torch.rand(2 if quick else 32, 4, 84, 84) < 0.2).float()
    def step():
        with torch.no_grad():
            net(frames)
    return step


def train_step(model, opt, inputs, targets, clip, flatten):
    def step():
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)) if flatten else logits, targets.reshape(-1))
        opt.zero_grad(); loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    return step


def gpt_train(quick):
    """GPT 4×128 iteration on random tokens, batch 12×64: AdamW 1e-3, β2 0.99, decay 0.1, clip 1."""
    B = 2 if quick else 12
    model = GPT()
    opt = torch.optim.AdamW(decay_groups(model, 0.1), lr=1e-3, betas=(0.9, 0.99))
    return train_step(model, opt, torch.randint(65, (B, 64)), torch.randint(65, (B, 64)), 1.0, True)


def lstm_train(quick):
    """LSTM 2×256 iteration on random tokens, batch 32×64: Adam 2e-3, clip 5."""
    B = 2 if quick else 32
    model = CharLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    return train_step(model, opt, torch.randint(65, (B, 64)), torch.randint(65, (B, 64)), 5.0, True)


def gpt_generate(quick):
    """63 characters after a one-character prompt with the key/value cache, temperature 0.8,
    top-k 40 (nanoGPT's sample.py); the harness divides by 63 for ms per character."""
    model = GPT().eval()
    count = 7 if quick else 63
    def run():
        with torch.no_grad():
            caches = [{} for _ in model.h]
            token = torch.zeros(1, 1, dtype=torch.long)
            for position in range(count):
                logits = model(token, position, caches)[0, -1] / 0.8
                v, _ = torch.topk(logits, 40)
                logits[logits < v[-1]] = -float('inf')
                token = torch.multinomial(F.softmax(logits, -1), 1).view(1, 1)
    return run


def vision_train(vit):
    """One batch of 128 random 28×28 images: forward, cross-entropy, backward, AdamW 1e-3 (decay 0.05)."""
    def make(quick):
        B = 2 if quick else 128
        model = ViT() if vit else LeNet()
        opt = torch.optim.AdamW(decay_groups(model, 0.05), lr=1e-3)
        return train_step(model, opt, torch.randn(B, 1, 28, 28), torch.randint(10, (B,)), 0, False)
    return make


def conv(batch, cin, size, cout, kernel, stride, padding, input_grad):
    """conv2d forward and backward with a fixed upstream gradient; the input needs a gradient
    only when a layer sits below it (not for a network's first layer)."""
    def make(quick):
        B = 2 if quick else batch
        x = torch.randn(B, cin, size, size, requires_grad=input_grad)
        layer = nn.Conv2d(cin, cout, kernel, stride, padding)
        g = torch.randn_like(layer(x))
        def step():
            x.grad = None; layer.zero_grad(set_to_none=True)
            layer(x).backward(g)
        return step
    return make


def op(kind):
    """One op forward and backward at the GPT's shapes (batch 12, 64 positions, 128 dims, 4 heads)
    with a fixed upstream gradient."""
    def make(quick):
        B = 2 if quick else 12
        if kind == 'layernorm':
            x = torch.randn(B, 64, 128, requires_grad=True); ln = nn.LayerNorm(128); inputs = [x] + list(ln.parameters()); f = lambda: ln(x)
        elif kind == 'softmax':
            x = torch.randn(B, 4, 64, 64, requires_grad=True); inputs = [x]; f = lambda: x.softmax(-1)
        elif kind == 'gelu':
            x = torch.randn(B, 64, 512, requires_grad=True); inputs = [x]; f = lambda: F.gelu(x)
        else:
            q, k, v = (torch.randn(B, 4, 64, 32, requires_grad=True) for _ in range(3)); inputs = [q, k, v]
            f = lambda: attention(q, k, v, True)
        g = torch.randn_like(f())
        def step():
            for t in inputs:
                t.grad = None
            f().backward(g)
        return step
    return make


WORKLOADS = {
    'matmul-256': matmul(256), 'matmul-512': matmul(512), 'matmul-1024': matmul(1024), 'matmul-2048': matmul(2048),
    'dqn-minatar': dqn(False), 'dqn-nature': dqn(True), 'dqn-loop': dqn_loop, 'nature-forward': nature_forward,
    'gpt-train': gpt_train, 'lstm-train': lstm_train, 'gpt-generate': gpt_generate,
    'vit-train': vision_train(True), 'lenet-train': vision_train(False),
    'conv-lenet1': conv(128, 1, 28, 6, 5, 1, 2, False), 'conv-lenet2': conv(128, 6, 14, 16, 5, 1, 0, True),
    'conv-nature1': conv(32, 4, 84, 32, 8, 4, 0, False), 'conv-nature2': conv(32, 32, 20, 64, 4, 2, 0, True),
    'conv-nature3': conv(32, 64, 9, 64, 3, 1, 0, True), 'conv-vit-patch': conv(128, 1, 28, 64, 4, 4, 0, False),
    'layernorm': op('layernorm'), 'softmax': op('softmax'), 'gelu': op('gelu'), 'attention': op('attention'),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--workload', choices=sorted(WORKLOADS)); p.add_argument('--threads', type=int, default=2)
    p.add_argument('--warmup', type=int, default=3); p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--warmup-seconds', type=float, default=0.0, help='keep warming up until this many seconds have passed')
    p.add_argument('--quick', action='store_true'); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--version', action='store_true', help='print the torch version and where it comes from')
    a = p.parse_args()
    if a.version:
        print(json.dumps(version())); return
    if a.workload is None or a.repeats < 1 or a.warmup < 0 or a.threads < 1 or not a.warmup_seconds >= 0:
        p.error('--workload, --repeats ≥ 1, --warmup ≥ 0, --warmup-seconds ≥ 0 and --threads ≥ 1 are needed')
    torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
    call = WORKLOADS[a.workload](a.quick)
    warmup_end, calls = time.perf_counter() + a.warmup_seconds, 0
    while calls < a.warmup or time.perf_counter() < warmup_end:
        call(); calls += 1
    times = []
    for _ in range(a.repeats):
        start = time.perf_counter(); call(); times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({'workload': a.workload, 'torch': version()['torch'], 'threads': torch.get_num_threads(),
                      'warmup': a.warmup, 'repeats': a.repeats, 'median_ms': statistics.median(times), 'times_ms': times}))


if __name__ == '__main__':
    main()

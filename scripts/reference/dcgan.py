#!/usr/bin/env python3
"""PyTorch's DCGAN of the same shape as `cortex train gan`, trained the same way: the reference
point for Cortex's Fréchet distance and seconds per epoch (docs/vision.md).

    /usr/bin/python3 scripts/reference/dcgan.py --epochs 5 --out runs/gan-torch/last.safetensors [--threads 2]
    cortex generate-images --checkpoint runs/gan-torch/last.safetensors --grid torch.png \
        --fid-checkpoint runs/resnet20-s0/best.safetensors --json

The networks are the DCGAN example's (Radford et al. 2016) at 28x28, as Sources/Models/Vision/DCGAN.swift:
G: z [B, 100, 1, 1] -> ConvT 7x7 -> BN -> ReLU [128, 7, 7] -> ConvT 4/2/1 -> BN -> ReLU [64, 14, 14]
   -> ConvT 4/2/1 -> tanh [1, 28, 28];
D: Conv 4/2/1 -> LeakyReLU 0.2 [64, 14, 14] -> Conv 4/2/1 -> BN -> LeakyReLU [128, 7, 7] -> Conv 7x7 -> logit.
No biases; weights N(0, 0.02), BatchNorm gains N(1, 0.02). Adam lr 2e-4, betas (0.5, 0.999) for
both; batch 128, last partial batch dropped, a shuffle per epoch; images scaled to [-1, 1];
BCE with logits; per step one D update on real (target 1) and detached G(z) (target 0), then one
G update with the non-saturating loss on the same z. The generator is written with Cortex's keys
(generator.main.<i>.*, the same as this nn.Sequential's) and metadata, float32 throughout, so
`cortex generate-images` loads it and measures it with the same code as Cortex's own GAN.
Prints a line per epoch and, last, one JSON object {"epochs", "s_per_epoch", "checkpoint"}.
Needs torch and numpy (Debian's python3-torch); exit status 77 without them.
"""
import argparse, gzip, json, os, struct, sys, time

try:
    import numpy as np
    import torch, torch.nn as nn, torch.nn.functional as F
except ImportError as e:
    print(f"dcgan.py: {e}", file=sys.stderr)
    sys.exit(77)


def read_idx_images(path):
    with gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb') as f:
        data = f.read()
    magic, n, h, w = struct.unpack('>IIII', data[:16])
    if magic != 2051:
        sys.exit(f"dcgan.py: {path} is not an IDX image file")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, h, w)


def find(directory, stem):
    for name in (stem, stem + '.gz'):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    sys.exit(f"dcgan.py: no {stem}[.gz] in {directory}")


def networks(latent, g, d, channels):
    G = nn.Sequential(
        nn.ConvTranspose2d(latent, g, 7, bias=False), nn.BatchNorm2d(g), nn.ReLU(True),
        nn.ConvTranspose2d(g, g // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(g // 2), nn.ReLU(True),
        nn.ConvTranspose2d(g // 2, channels, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(channels, d, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2, True),
        nn.Conv2d(2 * d, 1, 7, bias=False))
    for net in (G, D):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
    return G, D


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, t in tensors.items():
        raw = t.detach().to(torch.float32).contiguous().cpu().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--lr', type=float, default=2e-4)
    p.add_argument('--beta1', type=float, default=0.5)
    p.add_argument('--latent', type=int, default=100)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--limit', type=int, help='train on only the first N images (tests)')
    p.add_argument('--out', default='runs/gan-torch/last.safetensors')
    a = p.parse_args()
    if a.epochs < 1 or a.batch < 2:
        sys.exit("dcgan.py: --epochs must be at least 1 and --batch at least 2")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    images = read_idx_images(find(a.data, 'train-images-idx3-ubyte'))
    if a.limit:
        images = images[:a.limit]
    x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)
    G, D = networks(a.latent, 128, 64, x.shape[1])
    optG = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(a.beta1, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=a.lr, betas=(a.beta1, 0.999))
    steps = len(x) // a.batch
    if steps < 1:
        sys.exit(f"dcgan.py: {len(x)} images make no batch of {a.batch}")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    seconds = 0.0
    for epoch in range(a.epochs):
        G.train(); D.train()
        order = torch.randperm(len(x))
        start = time.perf_counter()
        d_sum = g_sum = 0.0
        for step in range(steps):
            real = x[order[step * a.batch:(step + 1) * a.batch]]
            z = torch.randn(a.batch, a.latent, 1, 1)
            with torch.no_grad():
                fake = G(z)
            real_logits, fake_logits = D(real).view(-1), D(fake).view(-1)
            d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                      + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
            optD.zero_grad(set_to_none=True)
            d_loss.backward()
            optD.step()
            logits = D(G(z)).view(-1)
            g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            optG.zero_grad(set_to_none=True)
            g_loss.backward()
            optG.step()
            d_sum += d_loss.item()
            g_sum += g_loss.item()
            if (step + 1) % 100 == 0:
                rate = (step + 1) / (time.perf_counter() - start)
                print(f"epoch {epoch + 1}/{a.epochs}  {step + 1}/{steps}  {rate:.2f} it/s  ETA {(steps - step - 1) / rate:.0f} s"
                      f"  d {d_sum / (step + 1):.4f}  g {g_sum / (step + 1):.4f}", file=sys.stderr, flush=True)
        elapsed = time.perf_counter() - start
        seconds += elapsed
        print(f"epoch {epoch + 1}/{a.epochs}: D loss {d_sum / steps:.4f}, G loss {g_sum / steps:.4f}, {elapsed:.1f} s",
              file=sys.stderr, flush=True)
    tensors = {f"generator.main.{k}": v for k, v in G.state_dict().items()}
    tensors.update({f"discriminator.main.{k}": v for k, v in D.state_dict().items()})
    config = json.dumps({"channels": int(x.shape[1]), "classes": 0, "discriminatorWidth": 64,
                         "generatorWidth": 128, "latent": a.latent}, sort_keys=True, separators=(',', ':'))
    write_safetensors(a.out, tensors, {"model": "dcgan", "config": config, "format": "pt",
                                       "producer": "scripts/reference/dcgan.py", "epoch": str(a.epochs)})
    print(json.dumps({"epochs": a.epochs, "s_per_epoch": seconds / a.epochs, "checkpoint": a.out,
                      "torch": torch.__version__, "threads": a.threads}))


if __name__ == '__main__':
    main()

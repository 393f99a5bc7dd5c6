#!/usr/bin/env python3
"""Corpus BLEU-1…4 by sacrebleu (Post 2018), the independent reference for Cortex's BLEU.

Usage: bleu.py FILE.json, where FILE holds {"hypotheses": [str], "references": [[str]]}
(one list of references per hypothesis; the lists may differ in length). Prints one JSON
object: {"bleu1": …, "bleu2": …, "bleu3": …, "bleu4": …} on sacrebleu's 0–100 scale, with
its defaults (13a tokenizer, exp smoothing, closest reference length). Exits 77 when
sacrebleu is missing (the tests skip).
"""
import json
import sys

try:
    from sacrebleu.metrics import BLEU
except ImportError:
    print("sacrebleu is not installed (scripts/test installs it into .venv-interop)", file=sys.stderr)
    sys.exit(77)

data = json.load(open(sys.argv[1]))
hyps, refs = data["hypotheses"], data["references"]
width = max(len(r) for r in refs)
# sacrebleu takes reference streams; a hypothesis with fewer references gets None in the rest.
streams = [[r[k] if k < len(r) else None for r in refs] for k in range(width)]
out = {}
for n in range(1, 5):
    out[f"bleu{n}"] = BLEU(max_ngram_order=n).corpus_score(hyps, streams).score
print(json.dumps(out))

#!/usr/bin/env python3
"""Records reference episodes of MinAtar's Space Invaders, Freeway, Asterix and Seaquest for
Cortex's replay tests (Tests/EnvsTests/Fixtures/minatar-<game>-trajectories.jsonl).

Needs `pip install minatar` (recorded with MinAtar 1.0.15, NumPy 2.4). Each episode runs MinAtar's
raw game (no sticky actions, so no extra draws) with `random = np.random.RandomState(seed)` and one
`reset()`; Cortex's games draw from a NumPy-compatible MT19937, so the same seed gives the same
cars, spawns and sides, and the test replays the actions and compares every step.

One JSON object per line: game, seed, epsilon (share of uniformly random actions; the rest come
from a simple heuristic so episodes get far), ramping, start_hash (the state after reset) and steps: one entry per step,
[action, reward, terminal, state_hash, ramp, extra...], where action is MinAtar's full action
number, state_hash is the top 48 bits of FNV-1a 64 (hex) of the state planes as bytes in channel-major order
(C, 10, 10), ramp is difficulty_ramp() (-1 when None) and extra is game-specific
(seaquest: oxygen, diver_count; others: nothing).

Usage: scripts/record_minatar.py [output_dir]
"""
import copy
import json
import os
import sys
from importlib import import_module

import numpy as np

GAMES = ["space_invaders", "freeway", "asterix", "seaquest"]
SEEDS = [1, 2, 3, 4]
EPSILONS = [1.0, 0.1, 0.02, 0.0]
MAX_STEPS = 1000


def fnv1a64(data: bytes) -> str:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return format(h >> 16, "012x")


def state_hash(env) -> str:
    planes = np.transpose(env.state(), (2, 0, 1)).astype(np.uint8)
    return fnv1a64(planes.tobytes())


def lookahead(env, actions, policy_random, depth=4, prefer=None):
    """Tries each action on a copy of the game followed by no-ops; prefers reward, avoids death,
    then the preferred action, then a random one of the best."""
    best, best_score = [], None
    for a in actions:
        trial = copy.deepcopy(env)
        score, done = 0.0, False
        for t in range(depth):
            r, done = trial.act(a if t == 0 else 0)
            score += r
            if done:
                score -= 100 + depth - t
                break
        if best_score is None or score > best_score:
            best, best_score = [a], score
        elif score == best_score:
            best.append(a)
    if prefer in best:
        return prefer
    return best[policy_random.randint(len(best))]


def heuristic(game, env, actions, policy_random):
    """A plain policy that keeps episodes going long enough to reach ramps, waves and surfacing."""
    if game == "freeway":
        return lookahead(env, actions, policy_random, prefer=2)           # up when safe
    if game == "seaquest":
        if env.oxygen < 40 or env.diver_count >= 6:
            return lookahead(env, [2, 1, 3, 0], policy_random, prefer=2)  # surface
        if env.sub_y < 3:
            return lookahead(env, actions, policy_random, prefer=4)       # dive
    return lookahead(env, actions, policy_random, depth=8 if game == "space_invaders" else 6)


def record(game: str, seed: int, epsilon: float):
    env = import_module("minatar.environments." + game).Env(ramping=True)
    env.random = np.random.RandomState(seed)
    env.reset()
    actions = env.minimal_action_set()
    policy_random = np.random.RandomState(1000 + seed)  # the policy's own stream
    start = state_hash(env)
    steps = []
    terminal = False
    # Freeway's last episode runs to its own end (2,500 steps); its others are kept short.
    cap = (2600 if epsilon == 0.0 else 600) if game == "freeway" else MAX_STEPS
    while not terminal and len(steps) < cap:
        if policy_random.rand() < epsilon:
            a = actions[policy_random.randint(len(actions))]
        else:
            a = heuristic(game, env, actions, policy_random)
        r, terminal = env.act(a)
        ramp = env.difficulty_ramp()
        entry = [int(a), int(r), int(terminal), state_hash(env), -1 if ramp is None else int(ramp)]
        if game == "seaquest":
            entry += [int(env.oxygen), int(env.diver_count)]
        steps.append(entry)
    return {"game": game, "seed": seed, "epsilon": epsilon, "ramping": True,
            "start_hash": start, "steps": steps}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "Tests", "EnvsTests", "Fixtures")
    for game in GAMES:
        path = os.path.join(out, f"minatar-{game}-trajectories.jsonl")
        with open(path, "w") as f:
            for seed, epsilon in zip(SEEDS, EPSILONS):
                episode = record(game, seed, epsilon)
                f.write(json.dumps(episode, separators=(",", ":")) + "\n")
                rewards = sum(s[1] for s in episode["steps"])
                print(f"{game} seed {seed}: {len(episode['steps'])} steps, return {rewards}", file=sys.stderr)


if __name__ == "__main__":
    main()

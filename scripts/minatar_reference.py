#!/usr/bin/env python3
"""Reference figures from the real MinAtar (`pip install minatar`) for Cortex's report, measured
the way `cortex bench envs` measures Cortex's games:

- speed: steps per second of each game with uniformly random actions over the minimal action
  set, resets included, with `act` alone and with `act` + `state()` (the observation planes);
- random policy: average return and length over N episodes of a uniformly random policy over
  the minimal action set, through MinAtar's `Environment` with sticky actions p = 0.1.

Usage: scripts/minatar_reference.py [--episodes 1000] [--steps 200000] [--seed 0] [--json]
"""
import argparse
import json
import sys
import time

import numpy as np
from minatar import Environment

GAMES = ["breakout", "space_invaders", "freeway", "asterix", "seaquest"]


def speed(game, steps, seed, observe):
    env = Environment(game, sticky_action_prob=0.0)
    env.seed(seed)
    env.reset()
    actions = env.minimal_action_set()
    rng = np.random.RandomState(seed + 1)
    choices = [actions[i] for i in rng.randint(len(actions), size=steps)]
    start = time.perf_counter()
    for a in choices:
        _, terminal = env.act(a)
        if observe:
            env.state()
        if terminal:
            env.reset()
    return steps / (time.perf_counter() - start)


def random_policy(game, episodes, seed):
    env = Environment(game, sticky_action_prob=0.1)
    env.seed(seed)
    actions = env.minimal_action_set()
    rng = np.random.RandomState(seed + 1)
    returns, lengths = [], []
    for _ in range(episodes):
        env.reset()
        total, length, terminal = 0.0, 0, False
        while not terminal:
            r, terminal = env.act(actions[rng.randint(len(actions))])
            total += r
            length += 1
        returns.append(total)
        lengths.append(length)
    returns = np.array(returns)
    return returns.mean(), returns.std(ddof=1) / np.sqrt(len(returns)), float(np.mean(lengths))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=200000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows, stats = [], []
    print("game             act steps/s   act+state steps/s")
    for game in GAMES:
        act = speed(game, args.steps, args.seed, observe=False)
        both = speed(game, args.steps, args.seed, observe=True)
        rows.append({"game": game, "act_steps_per_s": act, "act_state_steps_per_s": both})
        print(f"{game:16} {act:13.0f} {both:19.0f}", flush=True)
    print(f"random policy, {args.episodes} episodes, sticky actions 0.1")
    print("game             mean return   ± s.e.   mean length")
    for game in GAMES:
        mean, se, length = random_policy(game, args.episodes, args.seed)
        stats.append({"game": game, "mean_return": mean, "return_standard_error": se, "mean_length": length})
        print(f"{game:16} {mean:11.3f} {se:8.3f} {length:13.1f}", flush=True)
    if args.json:
        print(json.dumps({"minatar_speed": rows, "minatar_random_policy": stats}))


if __name__ == "__main__":
    main()

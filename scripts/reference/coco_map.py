#!/usr/bin/env python3
"""COCO box evaluation with pycocotools, the reference for Cortex's DetectionEvaluation.

Usage: coco_map.py GROUND_TRUTH.json DETECTIONS.json
  GROUND_TRUTH.json: COCO detection format (images, annotations with bbox/area/iscrowd, categories);
  DETECTIONS.json: a list of {"image_id", "category_id", "bbox", "score"}.
Prints JSON {"map": stats[0], "map50": stats[1], "map75": stats[2],
"ap50_per_category": {category id: AP at IoU 0.5, -1 without ground truth}} for iouType bbox,
area range all, maxDets 100. Exits 77 when pycocotools (or numpy) is missing, so tests skip.
"""
import contextlib
import io
import json
import sys

try:
    import numpy as np
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
except ImportError as error:  # the caller skips
    print(f"coco_map.py needs pycocotools: {error}", file=sys.stderr)
    sys.exit(77)


def main():
    gt_path, dt_path = sys.argv[1], sys.argv[2]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        with open(dt_path) as f:
            detections = json.load(f)
        if detections:
            dt = gt.loadRes(detections)
        else:  # loadRes refuses an empty list
            dt = COCO()
            dt.dataset = {"images": gt.dataset["images"], "categories": gt.dataset["categories"], "annotations": []}
            dt.createIndex()
        evaluation = COCOeval(gt, dt, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    precision = evaluation.eval["precision"]  # [T, R, K, A, M]
    per_category = {}
    for k, category in enumerate(evaluation.params.catIds):
        p = precision[0, :, k, 0, 2]
        per_category[str(category)] = float(np.mean(p)) if (p > -1).all() else -1.0
    print(json.dumps({
        "map": float(evaluation.stats[0]), "map50": float(evaluation.stats[1]),
        "map75": float(evaluation.stats[2]), "ap50_per_category": per_category,
    }))


if __name__ == "__main__":
    main()

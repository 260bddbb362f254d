"""Risk review: signals, scores, the ranked queue, the review workflow and the actions that stop losses."""

"""What the jobs compute, by stage: models, prompts, generation, scoring, language ID, pairs, training, EuroEval,
m-ArenaHard and the report. Each step module holds the spec class its rule's spec builder fills in
(workflow_scripts/planning/specs/)."""

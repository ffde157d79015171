"""m-ArenaHard: prompts, answers, the pairwise judge, and (length-controlled) win rates."""

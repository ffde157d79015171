"""The spec and inputs of every job, one module per stage (the rule files that use them are named in each).
What all of them share: common.py."""

"""What every job runs on: the glue between a rule's script and its step (step), the processes a step starts
(processes), the preloaded interpreter local jobs fork from (forkserver), atomic writes, table checks, chunked
work with checkpoints (chunks), shards and their gather (scatter), vLLM engines (engines), model loading,
spec classes and code fingerprints."""

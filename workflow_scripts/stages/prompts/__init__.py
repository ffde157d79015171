"""Source prompts (a file, or a stratified corpus sample), their translations, each language's prompt set, and
token lengths under a policy's tokenizer."""

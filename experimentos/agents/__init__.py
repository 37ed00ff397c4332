"""Agent adapters: start an agent CLI for a run and read its transcript back."""

"""Matrix runs: fixtures x conditions x agents x repeats, each an isolated, recorded run."""

"""Carbon inventory of municipal assets: issue pending (no code yet)."""

"""Clinical record (prontuário)."""
